"""Rows built before tickets had support lines get their ticket's line: one set-based
UPDATE of the rows that lack it (a desk that had lines from the start has none)."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def rows_lines(apps, schema_editor) -> None:
    Ticket = apps.get_model("tickets", "Ticket")
    TicketRow = apps.get_model("workspace", "TicketRow")
    line = Ticket.objects.filter(pk=OuterRef("ticket_id")).values("line_id")[:1]
    TicketRow.objects.filter(line_id__isnull=True).update(line_id=Subquery(line))


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0010_merge_lines_and_recent_indexes"),
        ("workspace", "0004_solved_rows_index"),
    ]

    operations = [migrations.RunPython(rows_lines, migrations.RunPython.noop)]
