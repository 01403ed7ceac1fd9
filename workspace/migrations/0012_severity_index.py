"""A partial index of the unsolved rows by severity in due order: a saved view of one
severity (the bench desk's "Technical S1", 3 % of the unsolved tickets) is then one
index range, not the due index walked past every other severity until a page fills."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workspace", "0011_row_tags")]

    operations = [
        migrations.AddIndex(
            model_name="ticketrow",
            index=models.Index(
                condition=models.Q(("unsolved", True)),
                fields=["severity", "due_sort", "ticket"],
                name="ws_row_severity_due",
            ),
        ),
    ]
