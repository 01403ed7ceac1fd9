"""An index of contact addresses by domain (PostgreSQL): "all tickets of people at
northwind.example" is an index lookup instead of a trigram scan of every address (whose
trigrams ".ex", "exa", "amp"… every address shares)."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS search_contactemail_domain "
    "ON tickets_contactemail (split_part(email, '@', 2))"
)
DROP = "DROP INDEX IF EXISTS search_contactemail_domain"


def _on_postgres(statement: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0002_indexes")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
