"""The SLA lookups' stamp (``sla.models.LookupsStamp``) and the triggers that write it.

Every INSERT, UPDATE, DELETE (and, on PostgreSQL, TRUNCATE) of the tables ``SlaLookups``
reads writes a new random stamp into row 1, in the writing transaction.
"""

import uuid

from django.db import migrations, models

# The tables SlaLookups is read from, by (app, model).
WATCHED = [
    ("sla", "SlaPolicy"),
    ("sla", "BusinessCalendar"),
    ("sla", "DepartmentCalendar"),
    ("sla", "LineCalendar"),
    ("tickets", "Department"),
    ("tickets", "SupportLine"),
]
FUNCTION = "sla_lookups_stamp_bump"
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION sla_lookups_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sla_lookupsstamp (id, stamp)
    VALUES (1, txid_current()::text || '-' || md5(random()::text || clock_timestamp()::text))
    ON CONFLICT (id) DO UPDATE SET stamp = EXCLUDED.stamp;
    RETURN NULL;
END $$;
"""
SQLITE_BUMP = (
    "INSERT OR REPLACE INTO sla_lookupsstamp (id, stamp) VALUES (1, lower(hex(randomblob(16))))"
)


def _tables(apps):
    return [apps.get_model(app, name)._meta.db_table for app, name in WATCHED]


def create_triggers(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FUNCTION)
            for table in _tables(apps):
                cursor.execute(
                    f"CREATE TRIGGER sla_lookups_stamp AFTER INSERT OR UPDATE OR DELETE OR "
                    f"TRUNCATE ON {quote(table)} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
                )
        elif connection.vendor == "sqlite":
            for table in _tables(apps):
                for event in ("INSERT", "UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER {quote(f'sla_lookups_stamp_{table}_{event.lower()}')} "
                        f"AFTER {event} ON {quote(table)} BEGIN {SQLITE_BUMP}; END"
                    )
    # The first stamp (the rows are there already: presets, departments, lines).
    apps.get_model("sla", "LookupsStamp").objects.update_or_create(
        id=1, defaults={"stamp": uuid.uuid4().hex}
    )


def drop_triggers(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in _tables(apps):
                cursor.execute(f"DROP TRIGGER IF EXISTS sla_lookups_stamp ON {quote(table)}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
        elif connection.vendor == "sqlite":
            for table in _tables(apps):
                for event in ("insert", "update", "delete"):
                    name = quote(f"sla_lookups_stamp_{table}_{event}")
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0005_merge_lines_and_computed_from_event"),
        ("tickets", "0011_linetext_survey_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="LookupsStamp",
            fields=[
                ("id", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("stamp", models.CharField(max_length=64)),
            ],
            options={"verbose_name": "SLA lookups stamp"},
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
