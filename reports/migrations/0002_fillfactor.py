"""Room on every page of the daily figures for updated rows (HOT updates): an upsert
adds to ``value``, which no index holds, so the indexes need no new entries."""

from django.db import migrations


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run("ALTER TABLE reports_dailyfigure SET (fillfactor = 70)"),
            _run("ALTER TABLE reports_dailyfigure RESET (fillfactor)"),
        )
    ]
