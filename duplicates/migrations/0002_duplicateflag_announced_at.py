from django.db import migrations, models
from django.db.models import F


def mark_existing_announced(apps, schema_editor):
    # Flags made before the announce task had their note and mail sent inline.
    DuplicateFlag = apps.get_model("duplicates", "DuplicateFlag")
    DuplicateFlag.objects.update(announced_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="duplicateflag",
            name="announced_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_existing_announced, migrations.RunPython.noop),
    ]
