"""The indexes search reads: GIN over the entries' words, trigrams over identifiers,
words and the directory (contact names, addresses, phone numbers, account names and
reseller IDs) on PostgreSQL; an FTS5 table on SQLite."""

from django.db import migrations

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX search_entry_vector ON search_entry USING gin (vector)",
    "CREATE INDEX search_entry_idents_trgm ON search_entry USING gin (idents gin_trgm_ops) "
    "WHERE idents <> ''",
    "CREATE INDEX search_word_trgm ON search_word USING gin (word gin_trgm_ops)",
    "CREATE INDEX search_contact_name_trgm ON tickets_contact USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX search_account_name_trgm ON tickets_account USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX search_account_reseller_trgm ON tickets_account "
    "USING gin (lower(reseller_id) gin_trgm_ops) WHERE reseller_id IS NOT NULL",
    "CREATE INDEX search_contactemail_trgm ON tickets_contactemail USING gin (email gin_trgm_ops)",
    "CREATE INDEX search_contactphone_trgm ON tickets_contactphone USING gin (number gin_trgm_ops)",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS search_contactphone_trgm",
    "DROP INDEX IF EXISTS search_contactemail_trgm",
    "DROP INDEX IF EXISTS search_account_reseller_trgm",
    "DROP INDEX IF EXISTS search_account_name_trgm",
    "DROP INDEX IF EXISTS search_contact_name_trgm",
    "DROP INDEX IF EXISTS search_word_trgm",
    "DROP INDEX IF EXISTS search_entry_idents_trgm",
    "DROP INDEX IF EXISTS search_entry_vector",
]
SQLITE = [
    # rowid = search_entry.id; the words of the entry and its identifiers.
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "body, idents, tokenize = 'unicode61 remove_diacritics 2')",
    # Its words and how many entries hold each (typo corrections).
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts_vocab USING fts5vocab(search_fts, 'row')",
    # Entries go when their ticket or message goes (and when tests flush the table).
    "CREATE TRIGGER IF NOT EXISTS search_entry_fts_delete AFTER DELETE ON search_entry "
    "BEGIN DELETE FROM search_fts WHERE rowid = OLD.id; END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_entry_fts_delete",
    "DROP TABLE IF EXISTS search_fts_vocab",
    "DROP TABLE IF EXISTS search_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_entries"), ("tickets", "0006_tags_and_split_events")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}),
        )
    ]
