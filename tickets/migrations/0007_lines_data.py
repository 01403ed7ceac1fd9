"""Give every existing department, inbox and ticket a support line (data only).

The standard lines are created (tickets.defaults), the standard departments join theirs,
and each existing ticket gets its department's line, or the default line for a department
an admin created (no data is dropped; an admin can move them later). The vendor's customer
and technical support become text only: they take no phone calls (the reseller's support
department, created here, does).
"""

from django.db import migrations

from tickets.defaults import ensure_standard_lines


def forwards(apps, schema_editor):
    using = schema_editor.connection.alias
    department_model = apps.get_model("tickets", "Department")
    line_model = apps.get_model("tickets", "SupportLine")
    ticket_model = apps.get_model("tickets", "Ticket")
    department_model.objects.using(using).filter(
        slug__in=["customer-support", "technical-support"]
    ).update(accepts_phone=False)
    ensure_standard_lines(apps, using)
    default = line_model.objects.using(using).get(is_default=True)
    for department in department_model.objects.using(using).all():
        ticket_model.objects.using(using).filter(department=department, line=None).update(
            line_id=department.line_id or default.pk
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_support_lines")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
