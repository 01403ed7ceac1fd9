"""Each word's entries per text search configuration (``search.models.WordConfig``),
filled by ``search.words_refresh`` from its own watermark (row 2): on a desk with entries,
the beat task catches up over its next runs, and the search reads the old counts until
then."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("search", "0004_bands")]

    operations = [
        migrations.CreateModel(
            name="WordConfig",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("word", models.CharField(db_index=True, max_length=100)),
                ("config", models.CharField(max_length=16)),
                ("documents", models.PositiveIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("word", "config"), name="search_wordconfig_unique"
                    )
                ],
            },
        ),
    ]
