"""Full-text indexes for searching what customers wrote (workspace.search), PostgreSQL
only: ticket subjects and inbound messages, ``simple`` configuration (no stemming: the
desk's languages match word for word). A one-time build on an existing desk (see
bench/README.md for its time on a million tickets); SQLite desks search by substring."""

from django.db import migrations

INDEXES = {
    "ws_message_inbound_fts": (
        "tickets_message USING gin (to_tsvector('simple'::regconfig, body_text)) "
        "WHERE direction = 'inbound'"
    ),
    "ws_ticket_subject_fts": "tickets_ticket USING gin (to_tsvector('simple'::regconfig, subject))",
}


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name, target in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("workspace", "0005_rows_follow_lines")]

    operations = [migrations.RunPython(create, drop)]
