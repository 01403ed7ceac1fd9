"""Install the ticket number source and the three standard departments."""

from django.db import migrations

from tickets.defaults import ensure_standard_departments
from tickets.numbering import install_number_source, remove_number_source


def forwards(apps, schema_editor):
    install_number_source(schema_editor)
    ensure_standard_departments(
        apps.get_model("tickets", "Department"), schema_editor.connection.alias
    )


def backwards(apps, schema_editor):
    remove_number_source(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
