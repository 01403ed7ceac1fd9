from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0006_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketsignature",
            name="checked",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
    ]
