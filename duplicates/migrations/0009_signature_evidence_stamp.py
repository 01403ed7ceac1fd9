"""Signatures get a digest of their evidence, which candidate lookups return instead of
the evidence itself (``signatures.candidates``). Nullable: older signatures have none
and are read in full until they are filed again."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("duplicates", "0008_band_without_foreign_key")]

    operations = [
        migrations.AddField(
            model_name="ticketsignature",
            name="evidence_stamp",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
