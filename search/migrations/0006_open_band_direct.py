"""The open band's index without GIN's pending list (``search.bands.open_band_direct``):
new entries go straight into it, and what waits in the list now goes in."""

from django.db import migrations


def direct(apps, schema_editor) -> None:
    from search import bands

    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            bands.open_band_direct(cursor)


class Migration(migrations.Migration):
    dependencies = [("search", "0005_wordconfig")]

    operations = [migrations.RunPython(direct, migrations.RunPython.noop)]
