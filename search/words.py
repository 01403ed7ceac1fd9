"""The words of the index, for correcting typos (PostgreSQL; SQLite reads FTS5's own
vocabulary table, always current)."""

from __future__ import annotations

from django.db import connection, transaction

CHUNK = 20_000  # messages per statement


def words_refresh(*, chunk: int = CHUNK, max_chunks: int = 50) -> int:
    """Add the words of messages indexed since the last run to ``search_word``; return
    how many entries were read. Words are letters only, 4–40 of them, lower-cased."""
    if connection.vendor != "postgresql":
        return 0
    read = 0
    for _ in range(max_chunks):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_wordswatermark (id, last_entry_id) VALUES (1, 0) "
                "ON CONFLICT (id) DO NOTHING"
            )
            cursor.execute(
                "SELECT last_entry_id FROM search_wordswatermark WHERE id = 1 FOR UPDATE"
            )
            last = cursor.fetchone()[0]
            cursor.execute(
                "SELECT max(id), count(*) FROM (SELECT id FROM search_entry WHERE id > %s "
                "ORDER BY id LIMIT %s) x",
                [last, chunk],
            )
            upto, count = cursor.fetchone()
            if not count:
                break
            # ts_stat reads the words as written (the simple configuration) of the
            # subjects and message texts of those entries.
            cursor.execute(
                "INSERT INTO search_word (word, documents) SELECT word, ndoc FROM ts_stat("  # noqa: S608 - two ints
                "$$SELECT to_tsvector('simple', coalesce(m.body_text, t.subject)) "
                "FROM search_entry e JOIN tickets_ticket t ON t.id = e.ticket_id "
                "LEFT JOIN tickets_message m ON m.id = e.message_id "
                f"WHERE e.id > {int(last)} AND e.id <= {int(upto)}$$) "
                "WHERE word ~ '^[[:alpha:]]{4,40}$' "
                "ON CONFLICT (word) DO UPDATE SET documents = search_word.documents + "
                "EXCLUDED.documents"
            )
            cursor.execute(
                "UPDATE search_wordswatermark SET last_entry_id = %s WHERE id = 1", [upto]
            )
            read += count
    return read
