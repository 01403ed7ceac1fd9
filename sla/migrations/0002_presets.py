"""Formerly installed the preset calendars and policies; since support lines exist they
are installed (and older installations upgraded) by 0004, which needs the lines."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0001_initial"),
        ("tickets", "0002_number_source_and_departments"),
    ]
    operations = []
