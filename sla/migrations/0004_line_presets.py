"""Install the line-scoped preset calendars and policies, or upgrade an older desk's."""

from django.db import migrations

from sla.presets import upgrade_presets


def forwards(apps, schema_editor):
    upgrade_presets(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0003_line_policies"),
        ("tickets", "0008_ticket_line_required"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
