"""Fewer indexes on the outbox (each got an entry for the insert, the claim and the
outcome of every mail): the waiting mails only, no index of ``to_email`` alone (the rate
window starts with it), the timeline message only where set, and no pattern-ops twin of
the unique Message-ID (Django adds one for LIKE; nothing runs LIKE on it)."""

import django.db.models.deletion
from django.db import migrations, models


def _like_index(schema_editor) -> tuple[str, str]:
    table = "outbox_outgoingmail"
    name = schema_editor._create_index_name(table, ["message_id"], suffix="_like")
    return schema_editor.quote_name(name), table


def drop_like(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        name, _table = _like_index(schema_editor)
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create_like(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        name, table = _like_index(schema_editor)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} (message_id varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0007_kinds_after_mailboxes"),
        ("tickets", "0011_linetext_survey_keys"),
    ]

    operations = [
        migrations.RunPython(drop_like, create_like),
        migrations.RemoveIndex(
            model_name="outgoingmail",
            name="outbox_due",
        ),
        migrations.AlterField(
            model_name="outgoingmail",
            name="timeline_message",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="The timeline message this mail carries (agent replies).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="outgoing_mails",
                to="tickets.message",
            ),
        ),
        migrations.AlterField(
            model_name="outgoingmail",
            name="to_email",
            field=models.EmailField(max_length=254),
        ),
        migrations.AddIndex(
            model_name="outgoingmail",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "sending"])),
                fields=["status", "next_attempt_at"],
                name="outbox_waiting",
            ),
        ),
        migrations.AddIndex(
            model_name="outgoingmail",
            index=models.Index(
                condition=models.Q(("timeline_message__isnull", False)),
                fields=["timeline_message"],
                name="outbox_timeline_message",
            ),
        ),
    ]
