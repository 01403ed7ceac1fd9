# The inbound record's external id keeps one plain index. ``db_index=True`` on a CharField
# made PostgreSQL a second, ``varchar_pattern_ops`` index for LIKE prefixes, which no query
# runs, and every stored record and every update of one that is not HOT (the claim of an
# attempt, its outcome) wrote an entry into both. The plain index stays, renamed (Django's
# name for an index in Meta.indexes has at most 30 characters); nothing is rebuilt.

from django.db import migrations, models

OLD = "channels_app_inboundrecord_external_id_bf0a0cb9"
NEW = "inbound_external_id"
TABLE = "channels_app_inboundrecord"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{OLD}_like"')
        schema_editor.execute(f'ALTER INDEX IF EXISTS "{OLD}" RENAME TO "{NEW}"')
    else:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{OLD}"')
        schema_editor.execute(f'CREATE INDEX "{NEW}" ON "{TABLE}" ("external_id")')


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER INDEX IF EXISTS "{NEW}" RENAME TO "{OLD}"')
        schema_editor.execute(
            f'CREATE INDEX "{OLD}_like" ON "{TABLE}" ("external_id" varchar_pattern_ops)'
        )
    else:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{NEW}"')
        schema_editor.execute(f'CREATE INDEX "{OLD}" ON "{TABLE}" ("external_id")')


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0004_chat_conversation_from_portal")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="inboundrecord",
                    name="external_id",
                    field=models.CharField(blank=True, max_length=998, null=True),
                ),
                migrations.AddIndex(
                    model_name="inboundrecord",
                    index=models.Index(fields=["external_id"], name=NEW),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        )
    ]
