"""Recency bands of the search entries' GIN index (PostgreSQL).

Search answers with the newest matching entries, so the words' index is split by entry
id into bands of ``SUPPORTDESK_SEARCH_BAND_ENTRIES`` (one partial GIN index each,
``WHERE id >= A AND id < B``) and read newest band first, going to an older band only
while fewer than asked were found: a phrase of common words reads one band's postings
instead of every entry's ("the hosting password": 52,000 entries at 1,000,000 tickets).
The newest band is open (``WHERE id >= A``: new entries go there, and into no other GIN
index, so a write costs what it did with one index over everything); beat closes it once
the newest id passes its end (``search.bands``), concurrently.

Which band an entry is in follows from its id and the setting alone, so every statement
is right whatever indexes exist; the indexes only make them fast. Each statement repeats
its band's bounds as literals: the planner uses a partial index only when the query's
own condition implies the index's.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from supportdesk.db_router import read_connection

PREFIX = "search_entry_vector_b"
WHOLE = "search_entry_vector"  # the one index over every entry, before bands
STATE_KEPT = 60.0  # seconds a process keeps the newest id and whether bands are built
INLINE_ENTRIES = 200_000  # up to this many entries, migrate builds the bands itself
# One build at a time: a band's concurrent build can outlast beat's 10 minutes, and the
# next run would take its index, not yet valid, for a failed build's leftover and drop it.
LOCK = 0x5EA2C4BA

Band = tuple[int, int | None]  # [start, stop); None: the open band


def band_entries() -> int:
    return max(int(settings.SUPPORTDESK_SEARCH_BAND_ENTRIES), 1)


# The newest bands are this many times smaller: the open band and the bands of the
# newest full band's worth of entries before it. A phrase of common words reads the
# newest band(s) until it has the page's matches, and the GIN index's AND of common
# words costs by the band's size: "сайт перенос сервер" (5,393 matches in the newest
# band of 1,000,000 entries at 1M tickets) took 25-65 ms there, 6-20 ms in a band of
# 250,000 (1,343). Older bands stay big: a rare word reads every band at once, and 25
# bands of 250,000 cost it twice 7 of 1,000,000 (one partial index read per band).
SPLIT = 4


def bands(newest: int) -> list[Band]:
    """Return the bands holding ids up to ``newest``, newest first; the first is open.
    Bands of ``band_entries() / SPLIT`` from the start of the full band before the one
    ``newest`` is in, full bands below: a closed small band's ids are never in another
    band, and a full band replaces its small ones once the open band is two full bands
    on (``bands_build``)."""
    size = band_entries()
    small = max(size // max(SPLIT, 1), 1)
    top = max(newest, 0) // small * small
    fine_from = max(top // size * size - size, 0)
    fine = [(start, start + small) for start in range(top - small, fine_from - 1, -small)]
    return [(top, None), *fine] + [
        (start, start + size) for start in range(fine_from - size, -1, -size)
    ]


def predicate(band: Band, column: str = "s.id") -> str:
    """Return the band's condition with its bounds as literals (never parameters)."""
    start, stop = band
    if stop is None:
        return f"{column} >= {int(start)}"
    return f"{column} >= {int(start)} AND {column} < {int(stop)}"


def index_name(band: Band) -> str:
    start, stop = band
    return f"{PREFIX}{int(start)}" if stop is None else f"{PREFIX}{int(start)}_{int(stop)}"


_STATE: dict[str, float] = {"newest": 0.0, "banded": 0.0, "until": 0.0}


def state() -> tuple[int, bool]:
    """Return the newest entry's id and whether band indexes exist, read at most once a
    minute per process (a rare word or identifier needs the bands, not the exact newest
    id: an entry newer than the open band's start is in the open band)."""
    now = time.monotonic()
    if now >= _STATE["until"]:
        with read_connection().cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT max(id) FROM search_entry), EXISTS (SELECT 1 FROM pg_class c "
                "JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname LIKE %s "
                "AND i.indisvalid)",
                [PREFIX.replace("_", "\\_") + "%"],
            )
            newest, banded = cursor.fetchone()
        _STATE.update(newest=float(newest or 0), banded=float(banded), until=now + STATE_KEPT)
    return int(_STATE["newest"]), bool(_STATE["banded"])


def forget_state() -> None:
    _STATE["until"] = 0.0


def _indexes(cursor) -> dict[str, bool]:
    """Return the band indexes (and the whole one) present: name -> valid."""
    cursor.execute(
        "SELECT c.relname, i.indisvalid FROM pg_class c JOIN pg_index i "
        "ON i.indexrelid = c.oid WHERE i.indrelid = 'search_entry'::regclass "
        "AND (c.relname LIKE %s OR c.relname = %s)",
        [PREFIX.replace("_", "\\_") + "%", WHOLE],
    )
    return dict(cursor.fetchall())


def bands_build(*, concurrently: bool) -> list[str]:
    """Build the missing band indexes for the entries there are (the open band's first:
    new entries go there), then drop what they replace: a closed band's former open
    index, bands of another size, and the index over every entry. A replaced index is
    dropped only when its replacements were already there when this run began (built by
    an earlier run), so a process still reading with a band list up to a minute old
    (``state``) finds its indexes. Return what was done. ``concurrently`` needs
    autocommit (a command or a task, not a migration)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK])
        if not cursor.fetchone()[0]:
            return []  # another run is building
        try:
            return _build(cursor, concurrently)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK])
            forget_state()


def _build(cursor, concurrently: bool) -> list[str]:
    how = " CONCURRENTLY" if concurrently else ""
    done: list[str] = []
    cursor.execute("SELECT max(id) FROM search_entry")
    wanted = {index_name(b): b for b in bands(cursor.fetchone()[0] or 0)}
    before = _indexes(cursor)
    for name, band in wanted.items():
        if before.get(name):
            continue
        if name in before:  # an invalid leftover of a concurrent build that failed
            cursor.execute(f"DROP INDEX{how} IF EXISTS {name}")
        # The open band's index takes every write: its pending list kept short (see
        # ``open_band_bounded``).
        bounded = f" WITH ({OPEN_BAND_OPTION})" if band[1] is None else ""
        cursor.execute(
            f"CREATE INDEX{how} {name} ON search_entry USING gin (vector){bounded} "
            f"WHERE {predicate(band, 'id')}"
        )
        done.append(f"built {name}")
    done += open_band_bounded(cursor)
    if all(before.get(name) for name in wanted) or not concurrently:
        for name in sorted(set(before) - set(wanted)):
            cursor.execute(f"DROP INDEX{how} IF EXISTS {name}")
            done.append(f"dropped {name}")
    return done


def _open_band_index(cursor) -> str:
    """The name of the index of the band new entries go to."""
    cursor.execute("SELECT max(id) FROM search_entry")
    return index_name(bands(cursor.fetchone()[0] or 0)[0])


# GIN's pending list for the open band, in kB (PostgreSQL's default is 4,096).
OPEN_BAND_PENDING_KB = 1024
OPEN_BAND_OPTION = f"gin_pending_list_limit = {OPEN_BAND_PENDING_KB}"


def open_band_bounded(cursor) -> list[str]:
    """Keep the open band's pending list short (``gin_pending_list_limit``) and empty it.

    With GIN's default, new entries wait in an unsorted pending list until it reaches
    4 MB or a vacuum, and autovacuum comes after a fifth of the table is new (1,200,000
    entries at 6,000,000): every search that reads the open band reads the whole list
    (2,800 entries: 1.1 ms per reading of the words, 0.015 ms once emptied, at 1M
    tickets). Without the list (``fastupdate = off``) reads are cheapest but every entry
    goes into the tree alone, about twice the write's CPU (0.34–0.36 against 0.14–0.16
    ms an entry of 20–60 words, 6,000 entries in batches of 50) on the ingest path. At
    1 MB the list is emptied in sorted batches by the writer that fills it, at the
    default's write cost, and a reading pays for at most a quarter of the default's list
    (200 word searches: 130–140 ms against 108–111 without a list and 287–305 with the
    default). Return what was done."""
    name = _open_band_index(cursor)
    cursor.execute(
        "SELECT c.reloptions FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = %s AND i.indisvalid",
        [name],
    )
    row = cursor.fetchone()
    wanted = OPEN_BAND_OPTION.replace(" ", "")
    if row is None or (row[0] or []) == [wanted]:
        return []
    # An open band built by 0006 as first written had fastupdate off: back on (RESET).
    cursor.execute(f"ALTER INDEX {name} RESET (fastupdate)")
    cursor.execute(f"ALTER INDEX {name} SET ({OPEN_BAND_OPTION})")
    cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
    return [f"{name}: pending list emptied and kept under {OPEN_BAND_PENDING_KB} kB"]


# The GIN indexes every new entry writes to with GIN's pending list on: the open band's
# (kept under OPEN_BAND_PENDING_KB) and the identifiers' trigrams (the default 4 MB).
IDENTS_TRGM = "search_entry_idents_trgm"


def pending_flush() -> list[str]:
    """Move what waits in the pending lists of the indexes new entries write to (the open
    band's and the identifiers' trigrams) into their trees; beat runs this every minute.

    Every search that reads one of these indexes reads its whole pending list: at
    1,000,000 tickets, after three 2-minute bench runs' writes, the open band held 942
    entries there and the trigrams 5,062 (180 pages), and the list is emptied only when it
    fills (1 MB, 4 MB) or by a vacuum, which on an insert-mostly table of millions of
    entries comes after a fifth of it is new. A minute's entries cost little to move; the
    writers keep GIN's cheaper batched insert. Return what was moved, per index."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        names = [IDENTS_TRGM]
        if any(_indexes(cursor).values()):  # banded (else the whole index, left as is)
            names.insert(0, _open_band_index(cursor))
        done = []
        for name in names:
            cursor.execute(
                "SELECT gin_clean_pending_list(c.oid::regclass) FROM pg_class c "
                "JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = %s "
                "AND i.indisvalid",
                [name],
            )
            row = cursor.fetchone()
            if row and row[0]:
                done.append(f"{name}: {row[0]} pending pages moved")
    return done


def small_index() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'search_entry'")
        row = cursor.fetchone()
    return row is None or row[0] <= INLINE_ENTRIES
