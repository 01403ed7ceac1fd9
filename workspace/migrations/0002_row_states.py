from django.db import migrations, models
from django.utils import timezone


def fill_states(apps, schema_editor):
    """Existing rows start in the right views (not only after the first minute beat)."""
    rows = apps.get_model("workspace", "TicketRow")
    flags = apps.get_model("duplicates", "DuplicateFlag")
    rows.objects.filter(unsolved=True, sla_risk_at__lte=timezone.now()).update(
        sla_risk_reached=True
    )
    suggested = flags.objects.filter(status="suggested").values("ticket_id")
    rows.objects.filter(unsolved=True, ticket_id__in=suggested).update(possible_duplicate=True)


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0001_initial"),
        ("workspace", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="ticketrow", name="ws_row_risk"),
        migrations.AddField(
            model_name="ticketrow",
            name="sla_risk_reached",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="ticketrow",
            name="possible_duplicate",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="ticketrow",
            index=models.Index(
                condition=models.Q(("unsolved", True), ("sla_risk_reached", True)),
                fields=["due_sort", "ticket"],
                name="ws_row_at_risk_due",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketrow",
            index=models.Index(
                condition=models.Q(("unsolved", True), ("possible_duplicate", True)),
                fields=["due_sort", "ticket"],
                name="ws_row_duplicate_due",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketrow",
            index=models.Index(
                condition=models.Q(("unsolved", True), ("sla_risk_reached", False)),
                fields=["sla_risk_at"],
                name="ws_row_risk_ahead",
            ),
        ),
        migrations.RunPython(fill_states, migrations.RunPython.noop),
    ]
