"""The retrieval keys' table loses its database foreign key to the tickets (its per-row
check was ~40% of filing a new ticket's keys); a TRUNCATE of the tickets still empties
it, as ``TRUNCATE … CASCADE`` did (the bench fills restart the ticket ids, and keys left
behind would point at the next fill's tickets)."""

import django.db.models.deletion
from django.db import migrations, models

# AFTER TRUNCATE, once a statement. When the keys were truncated by the same statement
# (Django's flush lists every table) they are empty, and truncating them again there
# would fail ("being used by active queries"): only a table with rows is truncated.
TRIGGER = """
CREATE OR REPLACE FUNCTION duplicates_band_follow_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM duplicates_duplicateband) THEN
        TRUNCATE duplicates_duplicateband;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER duplicates_band_follow_truncate AFTER TRUNCATE ON tickets_ticket
FOR EACH STATEMENT EXECUTE FUNCTION duplicates_band_follow_truncate();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS duplicates_band_follow_truncate ON tickets_ticket;
DROP FUNCTION IF EXISTS duplicates_band_follow_truncate();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0007_signature_checked"),
    ]

    operations = [
        migrations.AlterField(
            model_name="duplicateband",
            name="ticket",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tickets.ticket",
            ),
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
