"""Install the preset calendars (with their public holidays) and SLA policies."""

from django.db import migrations

from sla.presets import ensure_presets


def forwards(apps, schema_editor):
    ensure_presets(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0001_initial"),
        ("tickets", "0002_number_source_and_departments"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
