"""Every ticket has a support line from now on (0007 gave the existing ones theirs)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_lines_data")]
    operations = [
        migrations.AlterField(
            model_name="ticket",
            name="line",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="tickets.supportline",
            ),
        ),
    ]
