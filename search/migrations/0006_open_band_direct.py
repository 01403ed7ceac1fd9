"""The open band's index with a short GIN pending list (``search.bands.open_band_bounded``),
and what waits in the list now goes in."""

from django.db import migrations


def direct(apps, schema_editor) -> None:
    from search import bands

    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            bands.open_band_bounded(cursor)


class Migration(migrations.Migration):
    dependencies = [("search", "0005_wordconfig")]

    operations = [migrations.RunPython(direct, migrations.RunPython.noop)]
