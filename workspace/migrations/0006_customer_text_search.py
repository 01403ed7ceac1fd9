"""Full-text indexes for searching what customers wrote (workspace.search_indexes),
PostgreSQL only, built here on a small desk; a bigger desk's are built afterwards by the
worker, concurrently, so migrate stays quick (see workspace/search_indexes.py)."""

from django.db import migrations


def create(apps, schema_editor) -> None:
    from workspace import search_indexes

    if schema_editor.connection.vendor == "postgresql" and search_indexes.small_desk():
        search_indexes.build_indexes(concurrently=False)


def drop(apps, schema_editor) -> None:
    from workspace import search_indexes

    if schema_editor.connection.vendor == "postgresql":
        for name in search_indexes.INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("workspace", "0005_rows_follow_lines")]

    operations = [migrations.RunPython(create, drop)]
