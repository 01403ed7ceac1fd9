"""The words of the index, for correcting typos and for estimating how often a query's
words meet (PostgreSQL; SQLite reads FTS5's own vocabulary table, always current)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from django.db import connection, transaction

CHUNK = 20_000  # messages per statement
WORDS = 1  # watermark row of ``search_word``
BY_CONFIG = 2  # watermark row of ``search_wordconfig``

# The words as written (the simple configuration) of the subjects and message texts of
# the entries in a range of ids: what ts_stat reads.
_TEXTS = (
    "SELECT to_tsvector('simple', coalesce(m.body_text, t.subject)) "
    "FROM search_entry e JOIN tickets_ticket t ON t.id = e.ticket_id "
    "LEFT JOIN tickets_message m ON m.id = e.message_id "
    "WHERE e.id > {last} AND e.id <= {upto}"
)
_WORD = "'^[[:alpha:]]{4,40}$'"


def words_refresh(*, chunk: int = CHUNK, max_chunks: int = 50) -> int:
    """Add the words of messages indexed since the last run to ``search_word``, then to
    ``search_wordconfig`` (per configuration); return how many entries were read. Words
    are letters only, 4–40 of them, lower-cased."""
    if connection.vendor != "postgresql":
        return 0
    read = _refresh(WORDS, _count_words, chunk=chunk, max_chunks=max_chunks)
    read_by_config = _refresh(BY_CONFIG, count_words_by_config, chunk=chunk, max_chunks=max_chunks)
    if read or read_by_config:
        forget_counts()
    return read


# A query's counts, kept per process (``search.backends.postgres``): the vocabulary moves
# only when beat's words refresh runs (every 300 s), and reading it was a statement planned
# on every word search (0.3-0.8 ms of PostgreSQL's CPU, ~1 ms with its round trip). Kept
# at most that long, so a process reads a refresh's counts within one period of it; the
# refresh forgets them in its own process. Stale counts change only which way the newest
# matches are read, never which entries are found.
COUNTS_KEPT = 300.0
COUNTS_SIZE = 4096
_COUNTS: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()


def kept_counts(key: Hashable) -> Any | None:
    """Return the counts kept under ``key`` (None when not kept, or kept too long)."""
    item = _COUNTS.get(key)
    if item is None or item[0] <= time.monotonic():
        return None
    _COUNTS.move_to_end(key)
    return item[1]


def keep_counts(key: Hashable, counts: Any, seconds: float = COUNTS_KEPT) -> None:
    """Keep ``counts`` under ``key`` for ``seconds`` at most (the oldest kept go first)."""
    _COUNTS[key] = (time.monotonic() + seconds, counts)
    _COUNTS.move_to_end(key)
    while len(_COUNTS) > COUNTS_SIZE:
        _COUNTS.popitem(last=False)


def forget_counts() -> None:
    _COUNTS.clear()


def _refresh(row: int, count, *, chunk: int, max_chunks: int) -> int:
    read = 0
    for _ in range(max_chunks):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO search_wordswatermark (id, last_entry_id) VALUES (%s, 0) "
                "ON CONFLICT (id) DO NOTHING",
                [row],
            )
            cursor.execute(
                "SELECT last_entry_id FROM search_wordswatermark WHERE id = %s FOR UPDATE", [row]
            )
            last = cursor.fetchone()[0]
            cursor.execute(
                "SELECT max(id), count(*) FROM (SELECT id FROM search_entry WHERE id > %s "
                "ORDER BY id LIMIT %s) x",
                [last, chunk],
            )
            upto, number = cursor.fetchone()
            if not number:
                break
            count(cursor, last, upto)
            cursor.execute(
                "UPDATE search_wordswatermark SET last_entry_id = %s WHERE id = %s", [upto, row]
            )
            read += number
    return read


def _count_words(cursor, last: int, upto: int) -> None:
    texts = _TEXTS.format(last=int(last), upto=int(upto))
    cursor.execute(
        f"INSERT INTO search_word (word, documents) SELECT word, ndoc FROM ts_stat($${texts}$$) "  # noqa: S608 - two ints
        f"WHERE word ~ {_WORD} "
        "ON CONFLICT (word) DO UPDATE SET documents = search_word.documents + "
        "EXCLUDED.documents"
    )


def count_words_by_config(cursor, last: int, upto: int) -> None:
    """Add the words of the entries after ``last`` up to ``upto`` to ``search_wordconfig``,
    each entry's under its configuration, and the number of entries of each configuration
    under the empty word. Whoever calls it moves the watermark (row BY_CONFIG)."""
    texts = _TEXTS.format(last=int(last), upto=int(upto))
    cursor.execute(
        "INSERT INTO search_wordconfig (word, config, documents) "  # noqa: S608 - two ints
        "SELECT s.word, c.config, s.ndoc FROM (SELECT DISTINCT config FROM search_entry "
        "WHERE id > %s AND id <= %s) c "
        f"CROSS JOIN LATERAL ts_stat(format($f${texts} AND e.config = %%L$f$, c.config)) s "
        f"WHERE s.word ~ {_WORD} "
        "ON CONFLICT (word, config) DO UPDATE SET documents = search_wordconfig.documents + "
        "EXCLUDED.documents",
        [last, upto],
    )
    cursor.execute(
        "INSERT INTO search_wordconfig (word, config, documents) "
        "SELECT '', config, count(*) FROM search_entry WHERE id > %s AND id <= %s "
        "GROUP BY config "
        "ON CONFLICT (word, config) DO UPDATE SET documents = search_wordconfig.documents + "
        "EXCLUDED.documents",
        [last, upto],
    )
