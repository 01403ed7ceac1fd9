"""The tags of unsolved tickets as a read model keyed by (tag, due_sort, ticket), so a
tag view is one index range (workspace.models.TicketRowTag), filled here from the rows
and tags the desk already has: one INSERT … SELECT of the unsolved tickets' tags (about
10,000 rows at 1,000,000 tickets: well under a second), so ``migrate`` stays quick.
"""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor) -> None:
    quote = schema_editor.connection.ops.quote_name
    row_tags = quote(apps.get_model("workspace", "TicketRowTag")._meta.db_table)
    rows = quote(apps.get_model("workspace", "TicketRow")._meta.db_table)
    ticket_tags = quote(apps.get_model("tickets", "Ticket").tags.through._meta.db_table)
    schema_editor.execute(
        f"INSERT INTO {row_tags} (ticket_id, tag_id, due_sort) "  # noqa: S608 - names from _meta
        f"SELECT tt.ticket_id, tt.tag_id, r.due_sort FROM {ticket_tags} tt "
        f"JOIN {rows} r ON r.ticket_id = tt.ticket_id WHERE r.unsolved"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0011_linetext_survey_keys"),
        ("workspace", "0010_counts_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketRowTag",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "ticket_id",
                        "tag_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("due_sort", models.DateTimeField()),
                (
                    "tag",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tickets.tag",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tickets.ticket",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["tag", "due_sort", "ticket"], name="ws_rowtag_due")
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
