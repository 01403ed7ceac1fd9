"""Autovacuum of the lists' read model after a few thousand changed rows, not a fifth of
the table (PostgreSQL only).

The working views and the sidebar's counts are index-only scans over the unsolved rows,
and those are the rows that change all day: each change marks its page not all-visible,
and PostgreSQL then reads the table row as well as the index entry. With the default
threshold (50 + 20 % of the rows) a desk of 1,000,000 tickets is vacuumed after ~200,000
changed rows, i.e. hours; meanwhile the counts read ever more table pages (bench/desk.py:
a VACUUM cut the counts' PostgreSQL time by ~30 %). Vacuuming skips the all-visible pages,
so a run after 2,000 changes costs about the pages those changes touched.
"""

from django.db import migrations

TABLE = "workspace_ticketrow"
SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "2000",
    "autovacuum_analyze_scale_factor": "0.02",
}


def tune(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        options = ", ".join(f"{k} = {v}" for k, v in SETTINGS.items())
        schema_editor.execute(f"ALTER TABLE {TABLE} SET ({options})")


def untune(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [("workspace", "0008_merge_0002_mailbox_alert_kind_0007_macro_line")]

    operations = [migrations.RunPython(tune, untune)]
