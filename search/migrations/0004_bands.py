"""The words' GIN index in recency bands (search/bands.py), PostgreSQL only: built here on
a small desk (the index over every entry dropped); a bigger desk keeps its index until
beat's ``search.bands`` (or ``manage.py search_bands``) builds the bands concurrently."""

from django.db import migrations


def create(apps, schema_editor) -> None:
    from search import bands

    if schema_editor.connection.vendor == "postgresql" and bands.small_index():
        bands.bands_build(concurrently=False)


def drop(apps, schema_editor) -> None:
    from search import bands

    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {bands.WHOLE} ON search_entry USING gin (vector)"
        )
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relname LIKE %s AND relkind = 'i'",
                [bands.PREFIX.replace("_", "\\_") + "%"],
            )
            names = [row[0] for row in cursor.fetchall()]
        for name in names:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("search", "0003_contact_email_domain")]

    operations = [migrations.RunPython(create, drop)]
