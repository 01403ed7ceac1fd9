"""A sequence whose value moves after every change of the lists' read model
(PostgreSQL only): the version the sidebar's kept counts are checked against
(workspace/counts.py)."""

from django.db import migrations

SEQUENCE = "workspace_counts_version"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("workspace", "0009_rows_vacuumed_often")]

    operations = [migrations.RunPython(create, drop)]
