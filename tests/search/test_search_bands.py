"""The words' GIN index in recency bands (search/bands.py), on PostgreSQL: read newest band
first, the same entries as one read of the whole index; bands closed as the entries grow."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from search import bands
from search.backends import postgres
from search.selectors import query_from, ticket_search
from tests.factories import open_ticket

from .conftest import refs

pytestmark = pytest.mark.postgres


def _band_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            "WHERE i.indrelid = 'search_entry'::regclass AND i.indisvalid "
            "AND c.relname LIKE 'search_entry_vector%%'"
        )
        return {row[0] for row in cursor.fetchall()}


def _ids_from_one(tsquery: str, limit: int, floor: int | None = None) -> list[int]:
    """Today's statement over every entry: the newest ``limit`` matches."""
    bounded = "" if floor is None else f" AND id <= {floor}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM search_entry WHERE vector @@ %s::tsquery{bounded} "  # noqa: S608 - literal ints
            "ORDER BY id DESC LIMIT %s",
            [tsquery, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _ids(rows: list) -> list[int]:
    return [row[0] for row in rows]


def _from_first_id() -> None:
    """Entries from id 1, so tiny bands from 0 hold them (the sequence moves on over the
    session's tests; the table is empty at the start of each)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_entry")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT setval('search_entry_id_seq', 1, false)")


def _nine_lamp_tickets_in_bands_of_four(settings) -> list:
    """Open nine tickets saying "the quartz lamp N" and build their bands of four entries;
    return the tickets."""
    settings.SUPPORTDESK_SEARCH_BAND_ENTRIES = 4
    _from_first_id()
    tickets = [open_ticket(subject=f"Case {i}", body=f"the quartz lamp {i}") for i in range(9)]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    bands.bands_build(concurrently=False)
    bands.forget_state()
    return tickets


@pytest.fixture(autouse=True)
def _bands_of_one_size(monkeypatch):
    """The tests below were written for bands of one size; the smaller newest bands
    (``bands.SPLIT``) have their own test, which sets it back."""
    monkeypatch.setattr(bands, "SPLIT", 1)


@pytest.mark.django_db
def test_the_newest_bands_are_smaller_and_read_first_finding_what_one_read_finds(
    settings, anna, monkeypatch
):
    """The open band and the full band's worth of entries before it are in bands
    ``SPLIT`` times smaller (a phrase of common words ANDs the postings of the band it
    reads: at 1M tickets "сайт перенос сервер" took 25-65 ms in a band of 1,000,000
    entries, 6-20 ms in one of 250,000), older entries in full bands (a rare word reads
    every band at once). Band by band, newest first, the first two reads are a small
    band each, and every limit and floor finds what one statement over every entry
    finds, each statement answered by its bands' indexes."""
    monkeypatch.setattr(bands, "SPLIT", 4)
    settings.SUPPORTDESK_SEARCH_BAND_ENTRIES = 8  # small bands of 2
    _from_first_id()
    bodies = ["quartz lamp broke", "plain words", "the lamp again", "quartz only here"]
    for i in range(13):
        open_ticket(subject=f"Case {i}", body=bodies[i % 4])
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM search_entry")
        newest = cursor.fetchone()[0]
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert newest >= 26
    layout = bands.bands(newest)
    sizes = [None if stop is None else stop - start for start, stop in layout]
    # open, the small bands back to the full band before the open one's, then full bands
    full_from = newest // 2 * 2 // 8 * 8 - 8
    assert sizes[0] is None and set(sizes[1:]) == {2, 8}, layout
    assert all(stop - start == 2 for start, stop in layout[1:] if start >= full_from)
    assert all(stop - start == 8 for start, stop in layout[1:] if start < full_from)
    assert sorted(b for band in layout[1:] for b in range(band[0], band[1])) == list(
        range(layout[0][0])
    )  # every id below the open band in exactly one band
    bands.bands_build(concurrently=False)
    bands.forget_state()
    assert _band_indexes() == {bands.index_name(b) for b in layout}

    for tsquery in ("'quartz'", "'quartz' & 'lamp'", "'nowhere'"):
        for limit in (1, 2, 3, 5, 30):
            assert _ids(postgres._banded(tsquery, "", [], limit)) == _ids_from_one(tsquery, limit)
            for floor in range(newest, 0, -1):
                expected = _ids_from_one(tsquery, limit, floor)
                found = _ids(postgres._banded(tsquery, "", [], limit, floor=floor))
                assert found == expected, (tsquery, limit, floor)
    with CaptureQueriesContext(connection) as queries:
        postgres._banded("'quartz' & 'lamp'", "", [], 30, floor=newest)
    statements = [q["sql"] for q in queries if "@@" in q["sql"]]
    first, second = statements[:2]
    assert f"(s.id >= {layout[0][0]})" in first and first.count("s.id >= ") == 1
    assert f"(s.id >= {layout[1][0]} AND s.id < {layout[1][1]})" in second
    assert second.count("s.id >= ") == 1 and layout[1][1] - layout[1][0] == 2
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE search_entry DROP CONSTRAINT search_entry_pkey CASCADE")
        cursor.execute("SET LOCAL enable_seqscan = off")
        _assert_each_band_read_by_its_index(cursor, statements)


@pytest.mark.django_db
def test_bands_read_newest_first_find_what_one_read_of_every_entry_finds(settings, anna):
    """Over entries spread across several bands of four, band by band (newest first,
    on while fewer than asked were found) and all bands at once find exactly the entries
    one statement over the whole table finds, for every limit and walk floor; and each
    band's statement is one its partial index answers (the bounds are literals)."""
    settings.SUPPORTDESK_SEARCH_BAND_ENTRIES = 4
    _from_first_id()
    bodies = ["quartz lamp broke", "plain words", "the lamp again", "quartz only here"]
    tickets = [open_ticket(subject=f"Case {i}", body=bodies[i % 4]) for i in range(11)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM search_entry")
        newest = cursor.fetchone()[0]
    assert newest >= 22  # six bands: [0, 4) … [20, 24) and the open one
    with connection.cursor() as cursor:  # no index is built while checks are pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    bands.bands_build(concurrently=False)
    wanted = {bands.index_name(b) for b in bands.bands(newest)}
    assert len(wanted) >= 6 and _band_indexes() == wanted  # the open b0 of migrate dropped
    assert bands.state() == (newest, True)

    for tsquery in ("'quartz'", "'lamp'", "'quartz' & 'lamp'", "'nowhere'"):
        for limit in (1, 2, 3, 5, 30):
            everything = _ids_from_one(tsquery, limit)
            assert _ids(postgres._banded(tsquery, "", [], limit)) == everything, (tsquery, limit)
            for floor in range(newest, 0, -1):  # on, inside and at the edges of every band
                expected = _ids_from_one(tsquery, limit, floor)
                found = _ids(postgres._banded(tsquery, "", [], limit, floor=floor))
                assert found == expected, (tsquery, limit, floor)
    # Several readings: the newest of their union, band by band too.
    union = sorted(set(_ids_from_one("'quartz'", 30)) | set(_ids_from_one("'lamp'", 30)))[::-1]
    for limit in (1, 4, 9, 30):
        found = _ids(postgres._banded(("'quartz'", "'lamp'"), "", [], limit, floor=newest))
        assert found == union[:limit], limit

    # Each band's statement can be answered by its band's index: with no other index on
    # the ids to choose (dropped inside this test's transaction) and no table scan.
    with CaptureQueriesContext(connection) as queries:
        postgres._banded("'quartz' & 'lamp'", "", [], 30, floor=newest)
    statements = [q["sql"] for q in queries if "@@" in q["sql"]]
    # The newest two bands a statement each, then twice as many a statement each time:
    # six bands in four statements (1 + 1 + 2 + 2).
    assert [sql.count("s.id >= ") for sql in statements] == [1, 1, 2, len(wanted) - 4]
    with CaptureQueriesContext(connection) as queries:
        postgres._banded("'quartz'", "", [], 30)  # a rare word: every band at once
    (at_once,) = [q["sql"] for q in queries if "@@" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE search_entry DROP CONSTRAINT search_entry_pkey CASCADE")
        cursor.execute("SET LOCAL enable_seqscan = off")
        _assert_each_band_read_by_its_index(cursor, statements)
        cursor.execute("EXPLAIN (FORMAT JSON) " + at_once)
        plan = json.dumps(cursor.fetchone()[0])
        assert all(f'"Index Name": "{name}"' in plan for name in wanted), plan

    # And the search box finds the same tickets through them.
    lamps = {t.reference for i, t in enumerate(tickets) if "lamp" in bodies[i % 4]}
    assert set(refs(ticket_search("lamp"))) == lamps


@pytest.mark.django_db(transaction=True)
def test_beat_closes_the_full_band_and_drops_what_the_bands_replace(settings, anna, departments):
    """migrate gave this small desk an open band and no index over every entry. An
    upgraded desk's whole index stays until its bands were built by an earlier run (a
    process reads with a band list up to a minute old); when the newest id passes the open
    band's end, the next run closes it and opens the next, and the run after drops the
    former open index. Searches find every ticket all along. (``departments``: an earlier
    transactional test may have flushed the ones migrate installs.)"""
    from search.tasks import bands as bands_task

    assert _band_indexes() == {"search_entry_vector_b0"}  # what migrate built
    size = settings.SUPPORTDESK_SEARCH_BAND_ENTRIES
    settings.SUPPORTDESK_SEARCH_BAND_ENTRIES = 4
    try:
        _from_first_id()
        with connection.cursor() as cursor:  # an upgraded desk: one index, no bands
            cursor.execute("DROP INDEX search_entry_vector_b0")
            cursor.execute("CREATE INDEX search_entry_vector ON search_entry USING gin (vector)")
        bands.forget_state()
        found = [open_ticket(subject=f"Lamp {i}", body="a quartz lamp").reference for i in range(3)]
        found.reverse()
        assert sorted(refs(ticket_search("quartz"))) == sorted(found)  # through the whole index

        assert bands_task() == ["built search_entry_vector_b4", "built search_entry_vector_b0_4"]
        assert "search_entry_vector" in _band_indexes()
        assert sorted(refs(ticket_search("quartz"))) == sorted(found)
        assert bands_task() == ["dropped search_entry_vector"]
        assert _band_indexes() == {"search_entry_vector_b4", "search_entry_vector_b0_4"}
        assert sorted(refs(ticket_search("quartz"))) == sorted(found)

        more = [open_ticket(subject=f"Lamp {i}", body="a quartz lamp").reference for i in range(2)]
        found = more[::-1] + found  # entries up to 10: the open band [4, …) is full
        assert sorted(refs(ticket_search("quartz"))) == sorted(found)
        # While another run builds (a band's build can outlast beat's interval), a run
        # does nothing: it would take that run's index, not valid yet, for a leftover.
        other = connection.get_new_connection(connection.get_connection_params())
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [bands.LOCK])
            assert bands_task() == []
        finally:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [bands.LOCK])
            other.close()
        assert _band_indexes() == {"search_entry_vector_b4", "search_entry_vector_b0_4"}
        assert bands_task() == ["built search_entry_vector_b8", "built search_entry_vector_b4_8"]
        assert sorted(refs(ticket_search("quartz"))) == sorted(found)
        assert bands_task() == ["dropped search_entry_vector_b4"]
        assert _band_indexes() == {
            "search_entry_vector_b8",
            "search_entry_vector_b4_8",
            "search_entry_vector_b0_4",
        }
        assert sorted(refs(ticket_search("quartz"))) == sorted(found)
        assert bands_task() == []
    finally:
        settings.SUPPORTDESK_SEARCH_BAND_ENTRIES = size
        bands.bands_build(concurrently=False)  # back to what migrate leaves: one open band
        assert _band_indexes() == {"search_entry_vector_b0"}


@pytest.mark.django_db
def test_rare_words_the_newest_band_holds_enough_of_are_read_band_by_band(
    settings, anna, monkeypatch
):
    """A word rare enough for the index (under the vocabulary's floor) whose expected
    matches fill the newest band several times over ("gebami не baba": 270 in each band
    of 1,000,000 entries) is read band by band from the newest, stopping when enough
    were found, instead of every band's postings and rows at once; a rarer one still
    reads every band in one statement. Both find the same tickets."""
    from search.models import Word

    tickets = _nine_lamp_tickets_in_bands_of_four(settings)
    Word.objects.create(word="quartz", documents=9)  # rare: under RARE_FLOOR
    # Three asked: the bands pay (a band of four expected to hold half of them, 2 >= 0.5
    # x 3), and the newest two bands hold them.
    monkeypatch.setattr(postgres, "BANDS_PAY", 0.5)

    def search() -> tuple[list[int], list[str]]:
        query = query_from("quartz")
        with CaptureQueriesContext(connection) as queries:
            hits = postgres.PostgresBackend().text_hits(query, Q(), notes=False, limit=3)
        reads = [q["sql"] for q in queries if "FROM search_entry s" in q["sql"]]
        return [h.entry_id for h in hits], reads

    found, reads = search()
    assert found == _ids_from_one("'quartz'", 3)
    assert reads and all(sql.count("s.id >= ") == 1 for sql in reads), reads  # a band each
    assert all(" AND s.id <= " in sql for sql in reads), reads
    assert len(reads) < len(bands.bands(bands.state()[0]))  # stopped before the oldest
    monkeypatch.setattr(postgres, "BANDS_PAY", float("inf"))  # every band at once
    found_at_once, reads = search()
    assert found_at_once == found
    (at_once,) = reads
    assert at_once.count("s.id >= ") == len(bands.bands(bands.state()[0]))
    assert set(refs(ticket_search("quartz"))) == {t.reference for t in tickets}


@pytest.mark.django_db
def test_the_open_band_keeps_a_short_pending_list_emptied_by_the_bands_task(settings, anna):
    """GIN's pending list holds new entries unsorted until 4 MB or a vacuum (autovacuum
    comes after a fifth of the table is new): every search reading the open band would
    read it all. Without the list every entry goes into the tree alone (twice the write's
    CPU on the ingest path). The open band is built with a list of 1 MB, and an open band
    built with the default, or without a list, gets it at the next run of the bands'
    task, its list emptied."""
    settings.SUPPORTDESK_SEARCH_BAND_ENTRIES = 4
    _from_first_id()
    for i in range(6):
        open_ticket(subject=f"Case {i}", body="the quartz lamp")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    bands.bands_build(concurrently=False)

    def open_band() -> tuple[str, list[str] | None]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM search_entry")
            name = bands.index_name(bands.bands(cursor.fetchone()[0])[0])
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [name])
            return name, cursor.fetchone()[0]

    def pending(name: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            cursor.execute("SELECT pending_tuples FROM pgstatginindex(%s::regclass)", [name])
            return cursor.fetchone()[0]

    name, options = open_band()
    assert options == ["gin_pending_list_limit=1024"]
    open_ticket(subject="Later", body="a quartz lamp again")  # into its short list
    assert pending(name) > 0
    bounded = [f"{name}: pending list emptied and kept under 1024 kB"]
    assert bands.bands_build(concurrently=False) == []  # nothing to change
    for before in ("RESET (gin_pending_list_limit)", "SET (fastupdate = off)"):
        with connection.cursor() as cursor:  # as an open band built before this change
            cursor.execute(f"ALTER INDEX {name} RESET (gin_pending_list_limit)")
            cursor.execute(f"ALTER INDEX {name} {before}")
        assert bands.bands_build(concurrently=False) == bounded
        assert open_band() == (name, ["gin_pending_list_limit=1024"])
        assert pending(name) == 0
    assert len(refs(ticket_search("quartz"))) == 7


@pytest.mark.django_db
def test_beat_moves_new_entries_out_of_the_pending_lists_searches_read(settings, anna):
    """Every search reading the open band or the identifiers' trigrams reads their whole
    GIN pending list, emptied otherwise only when full or by a vacuum: beat's
    ``search.pending`` moves a minute's new entries into the trees."""
    from search.tasks import pending

    settings.SUPPORTDESK_SEARCH_BAND_ENTRIES = 1000
    _from_first_id()
    open_ticket(subject="First", body="the quartz lamp")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    bands.bands_build(concurrently=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM search_entry")
        open_band = bands.index_name(bands.bands(cursor.fetchone()[0])[0])
    for i in range(5):
        open_ticket(subject=f"Order ORD-{7700 + i}", body="another quartz lamp, order ORD-77")

    def pending_tuples() -> dict[str, int]:
        found = {}
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            for name in (open_band, bands.IDENTS_TRGM):
                cursor.execute("SELECT pending_tuples FROM pgstatginindex(%s::regclass)", [name])
                found[name] = cursor.fetchone()[0]
        return found

    assert all(count > 0 for count in pending_tuples().values())
    moved = pending.apply().get()
    assert [line.split(":")[0] for line in moved] == [open_band, bands.IDENTS_TRGM]
    assert pending_tuples() == {open_band: 0, bands.IDENTS_TRGM: 0}
    assert pending.apply().get() == []  # nothing waiting: nothing to do
    assert len(refs(ticket_search("quartz"))) == 6
    assert len(refs(ticket_search("ORD-7703"))) == 1


def _assert_each_band_read_by_its_index(cursor, statements: list[str]) -> None:
    """Every band a statement names (its literal id bounds) is read through that band's
    partial index."""
    for sql in statements:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = json.dumps(cursor.fetchone()[0])
        for low, high in re.findall(r"s\.id >= (\d+)(?: AND s\.id < (\d+))?\)", sql):
            name = bands.index_name((int(low), int(high) if high else None))
            assert f'"Index Name": "{name}"' in plan, (sql, plan)


@pytest.mark.django_db
def test_words_common_alone_but_rare_together_read_every_band_at_once(settings, anna, monkeypatch):
    """Words each too common for the index alone but expected together in fewer entries
    than asked in all ("kaki mino bami": a made-up word among common ones) are read in
    every band in one statement, as a rare word is: band by band, newest first, they
    could not stop before the oldest band, at a statement for each of the newest two
    bands and one per group after. Both ways find the same entries."""
    from search.models import Word, WordConfig, WordsWatermark

    tickets = _nine_lamp_tickets_in_bands_of_four(settings)
    # Each word in every tenth entry: common (over the floor), not worth a walk
    # together, and a thousandth of a thousandth of the entries hold both.
    for word in ("quartz", "lamp"):
        Word.objects.create(word=word, documents=1_000_000)
        WordConfig.objects.create(word=word, config="english", documents=1_000)
    WordConfig.objects.create(word="", config="english", documents=1_000_000)
    WordsWatermark.objects.create(id=1, last_entry_id=1)
    WordsWatermark.objects.create(id=2, last_entry_id=1)
    query = query_from("quartz lamp")
    rare, _newest, share, _entries = postgres.PostgresBackend._rare_and_newest(query, 30)
    assert not rare and not postgres.PostgresBackend._walk_pays(share)

    def search() -> tuple[list[int], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            hits = postgres.PostgresBackend().text_hits(query, Q(), notes=False, limit=30)
        reads = [q["sql"] for q in queries if "FROM search_entry s" in q["sql"]]
        return [h.entry_id for h in hits], reads

    found, reads = search()
    assert found == _ids_from_one("'quartz' & 'lamp'", 30) and len(found) == 9
    (at_once,) = reads
    assert at_once.count("(s.id >= ") == len(bands.bands(bands.state()[0]))  # every band
    monkeypatch.setattr(postgres, "RARE_TOGETHER", 0.0)  # band by band, as before
    found_by_band, reads = search()
    assert found_by_band == found
    assert len(reads) > 2, reads
    assert set(refs(ticket_search("quartz lamp"))) == {t.reference for t in tickets}
