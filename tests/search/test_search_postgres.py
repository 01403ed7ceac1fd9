"""What only PostgreSQL does: stemming per message language, and a message findable by
every other connection the moment its transaction commits (never before)."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from search.selectors import ticket_search
from tests.factories import open_ticket

from .conftest import refs, reply

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("written", "searched"),
    [
        ("Мы не можем оплатить счета за хостинг уже неделю", "оплата"),
        ("Hallo, de betalingen van onze klanten komen niet aan", "betaling"),
        ("Hola, las facturas del mes pasado no llegan a los clientes", "factura"),
        ("Hello, the invoices of last month never reached our customers", "invoice"),
    ],
)
def test_a_message_is_stemmed_in_its_own_language(anna, written, searched):
    ticket = open_ticket(subject="Question", body="Hello", contact=anna)
    reply(ticket, written)
    assert refs(ticket_search(searched)) == [ticket.reference]


@pytest.mark.django_db(transaction=True)
def test_a_new_message_is_findable_as_soon_as_it_commits(departments, anna):
    ticket = open_ticket(subject="Fresh", body="first words", contact=anna)
    seen: dict[str, list[str]] = {}

    def search_elsewhere(label: str) -> None:
        try:  # another thread: another database connection, as another web worker
            seen[label] = refs(ticket_search("gooseberry"))
        finally:
            connection.close()

    with transaction.atomic():
        reply(ticket, "a gooseberry appeared in the logs")
        other = threading.Thread(target=search_elsewhere, args=("before commit",))
        other.start()
        other.join()
    after = threading.Thread(target=search_elsewhere, args=("after commit",))
    after.start()
    after.join()
    assert seen == {"before commit": [], "after commit": [ticket.reference]}


@pytest.mark.django_db
def test_rare_words_are_read_through_the_index_and_common_ones_newest_first(anna):
    """The way to the newest matches is chosen by the vocabulary's counts (the planner
    cannot estimate a word read in four configurations): a rare word, or one not in the
    vocabulary yet, through the GIN index; a common one (in any of its forms) walking the
    entries back; identifiers are the planner's. Both ways find the same tickets."""
    from search.backends.postgres import RARE_FLOOR, PostgresBackend
    from search.models import Word
    from search.selectors import TEXT_CANDIDATES, query_from

    ticket = open_ticket(subject="Question", body="Hello", contact=anna)
    reply(ticket, "Мы не можем продлить домен, и оплата не проходит")
    Word.objects.create(word="домен", documents=RARE_FLOOR * 10)
    Word.objects.create(word="оплата", documents=3)

    def rare(text: str) -> bool | None:
        return PostgresBackend._rare(query_from(text), TEXT_CANDIDATES)

    assert rare("домена") is False  # another form of a common word
    assert rare("оплаты") is True
    assert rare("продлить") is True  # not in the vocabulary yet: new
    assert rare("домен оплата") is True  # the rarest word bounds the matches
    assert rare("не и") is False  # short words only
    assert rare("SD-100001") is None
    for text in ("домена", "оплаты", "продлить"):
        assert refs(ticket_search(text)) == [ticket.reference]


@pytest.mark.django_db
def test_a_word_found_in_several_languages_alike_is_looked_up_once():
    """English, Dutch, Spanish and the simple reading of "hosting" give two lexemes:
    each is matched and ranked once (the query's cost grows with its readings)."""
    from search.backends.postgres import query_tsquery
    from search.selectors import query_from

    assert query_tsquery(query_from("hosting")) == "( 'host' ) | ( 'hosting' )"
    assert query_tsquery(query_from("the")).count("'the'") == 1  # an English stop word
    assert query_tsquery(query_from("SD-100001")) == "'100001'"


@pytest.mark.django_db
def test_a_common_or_uncounted_word_walks_back_a_bounded_stretch_then_reads_the_index(
    anna, monkeypatch
):
    """A word the vocabulary cannot count (three letters) is looked for by walking the
    newest entries back, but no further than WALK of them: a match older than that comes
    from the GIN index instead of a walk through every entry (at 6,000,000 entries a stop
    word only old subjects held took 14 s)."""
    from django.test.utils import CaptureQueriesContext

    from search.backends import postgres

    old = open_ticket(subject="Certificate", body="the ssl handshake fails", contact=anna)
    newer = [open_ticket(subject=f"Other {i}", body=f"plain words {i}") for i in range(4)]
    monkeypatch.setattr(postgres, "WALK", 3)
    with CaptureQueriesContext(connection) as queries:
        found = refs(ticket_search("ssl"))
    assert found == [old.reference]
    statements = [q["sql"] for q in queries if "FROM search_entry s" in q["sql"]]
    walks = [sql for sql in statements if "OFFSET 0" in sql]
    assert walks and all("WHERE s.id > " in sql for sql in walks)  # never unbounded
    assert any(" AND s.id <= " in sql and "s.id + 0" in sql for sql in statements)
    assert not {t.reference for t in newer} & set(found)


@pytest.mark.django_db
def test_stop_words_alone_are_looked_for_in_the_newest_entries_only(anna, monkeypatch):
    """A query every word of which English (the first language it is read in) drops as
    a stop word ("is") finds what the bounded walk back from the newest entry holds, and
    never reads the GIN index for the rest: at 1M every old subject holds "is" (209,000
    entries, 130-200 ms to read and sort). With another word, or a word only another
    language drops ("van" in Dutch), the index is read as before."""
    from django.test.utils import CaptureQueriesContext

    from search.backends import postgres

    old = open_ticket(subject="The server is down", body="nothing loads", contact=anna)
    ours = open_ticket(subject="Fixed it ourselves", body="all good")  # uncounted: "rare"
    van = open_ticket(subject="Delivery", body="the van broke down on the way")
    for i in range(4):
        open_ticket(subject=f"Other {i}", body=f"plain words {i}")
    recent = open_ticket(subject="Why is it slow", body="pages load slowly")
    monkeypatch.setattr(postgres, "WALK", 3)
    with CaptureQueriesContext(connection) as queries:
        page = ticket_search("is")
    assert refs(page) == [recent.reference] and page.recent_only
    assert not [q["sql"] for q in queries if "s.id + 0" in q["sql"]]
    page = ticket_search("ourselves")  # rare or not, a stop word alone: the newest only
    assert refs(page) == [] and page.recent_only
    assert refs(ticket_search("ourselves fixed")) == [ours.reference]
    page = ticket_search("server is")  # "server": the index
    assert refs(page) == [old.reference] and not page.recent_only
    page = ticket_search("van")  # a stop word in Dutch only
    assert refs(page) == [van.reference] and not page.recent_only
    assert not ticket_search("???").recent_only  # no word at all: nothing to say


@pytest.mark.django_db
def test_the_search_page_says_when_stop_words_alone_were_looked_for_recently_only(client, anna):
    """Stop words alone are matched in the newest conversations only: the page says so
    (and how to search them all), and says nothing for any other word."""
    from tests.factories import AgentFactory
    from tests.workspace.conftest import grant_ticket_permissions

    agent = AgentFactory(username="lena")
    grant_ticket_permissions(agent)
    client.force_login(agent)
    open_ticket(subject="Why is it slow", body="pages load slowly", contact=anna)
    for text, noted in (("is", True), ("slow", False)):
        page = client.get(reverse("search:desk"), {"q": text}).content.decode()
        assert ('id="search-recent-only"' in page) is noted, text


@pytest.mark.django_db
def test_an_identifier_nobody_wrote_is_read_through_the_index_not_walked_to(anna):
    """Given "ORDER BY id DESC LIMIT", the planner assumed a phone number's or code's
    matches spread evenly and walked back from the newest entry: through every entry
    (6 s at 6,000,000) when nobody wrote it. A rare identifier by its estimate goes
    through the GIN index; the tickets found stay the same."""
    from django.test.utils import CaptureQueriesContext

    ticket = open_ticket(subject="Order", body="about order NW-88412 again", contact=anna)
    for text, expected in (("NW-88412", [ticket.reference]), ("NW-00000", [])):
        with CaptureQueriesContext(connection) as queries:
            assert refs(ticket_search(text)) == expected
        reads = [
            q["sql"]
            for q in queries
            if "s.vector @@" in q["sql"] and not q["sql"].startswith("EXPLAIN")
        ]
        assert reads and all("s.id + 0" in sql for sql in reads), reads


@pytest.mark.django_db
def test_the_directory_reads_a_contacts_or_accounts_tickets_in_one_statement(anna):
    """An address, a reseller ID, a name or a fragment of them finds its contacts' and
    accounts' tickets in one statement each (the ids read first by ``= ANY(ARRAY(…))``,
    never as a subquery PostgreSQL might walk every ticket for), instead of one statement
    for the ids and one for the tickets, each built through the ORM; the same tickets."""
    from django.test.utils import CaptureQueriesContext

    ticket = open_ticket(subject="Renewal", body="Please renew", contact=anna)
    other = open_ticket(subject="Elsewhere", body="Another customer")
    for text in ("anna@northwind.example", anna.account.reseller_id, "de vries", "northwind.exa"):
        with CaptureQueriesContext(connection) as queries:
            found = refs(ticket_search(text))
        assert ticket.reference in found and other.reference not in found, text
        markers = ("tickets_contactemail", 'LOWER("name")', '"reseller_id" IN')
        lookups = [q["sql"] for q in queries if any(m in q["sql"] for m in markers)]
        assert lookups and all(
            'FROM "tickets_ticket" WHERE' in sql and "= ANY(ARRAY(" in sql for sql in lookups
        ), (text, lookups)
    # A fragment of an address, phone number or code: the text's identifiers and the
    # directory's in one statement.
    with CaptureQueriesContext(connection) as queries:
        assert ticket.reference in refs(ticket_search("northwind.exa"))
    fragments = [q["sql"] for q in queries if "idents LIKE" in q["sql"] or "email LIKE" in q["sql"]]
    assert len(fragments) == 1 and "s.idents LIKE" in fragments[0], fragments
    assert "tickets_contactemail" in fragments[0]


@pytest.mark.django_db
def test_a_rare_identifier_and_the_snippets_cost_no_statement_they_do_not_use(anna):
    """An identifier read through the GIN index does not ask for the newest entry's id
    (only a walk back needs it) nor, more than once a minute per process, for the
    planner's count of entries or its estimate of the identifier's matches; the
    snippets' messages and subjects are read in one statement. Every statement counts
    at 8 searches on 2 cores; the page is the same."""
    from django.test.utils import CaptureQueriesContext

    ticket = open_ticket(subject="Order", body="about order NW-88412 again", contact=anna)
    reply(ticket, "Still waiting for NW-88412, please check")
    ticket_search("NW-88412")  # the count of entries read once for this process
    with CaptureQueriesContext(connection) as queries:
        page = ticket_search("NW-88412")
    assert refs(page) == [ticket.reference] and "<mark>NW-88412</mark>" in page.hits[0].snippet
    statements = [q["sql"] for q in queries]
    assert not [sql for sql in statements if "max(id)" in sql or "reltuples" in sql]
    assert not [sql for sql in statements if sql.startswith("EXPLAIN")]
    with CaptureQueriesContext(connection) as queries:
        page = ticket_search("waiting")
    assert refs(page) == [ticket.reference] and "<mark>" in page.hits[0].snippet
    texts = [q["sql"] for q in queries if "body_text" in q["sql"]]
    assert len(texts) == 1 and "tickets_ticket" in texts[0], texts


@pytest.mark.django_db
def test_words_read_in_several_languages_ask_the_index_one_reading_at_a_time(anna, monkeypatch):
    """Several words read in English, Dutch, Spanish and simple are looked up in the GIN
    index one reading at a time and the newest of the union kept: given their OR, the
    index's fast scan steps through every reading's common words at once (290 ms for a
    three-word phrase at 1M, 150 ms read by reading). The entries found are the OR's."""
    from django.test.utils import CaptureQueriesContext

    from search.backends import postgres
    from search.selectors import query_from

    first = open_ticket(subject="Backup", body="the backup server failed since monday")
    second = open_ticket(subject="Again", body="our server backup failed", contact=anna)
    open_ticket(subject="Other", body="since the server restarted")
    monkeypatch.setattr(postgres, "WALK", 1)  # past the newest entry, to the index
    query = query_from("backup server failed")
    readings = postgres.query_readings(query)
    assert len(readings) > 1
    with CaptureQueriesContext(connection) as queries:
        found = set(refs(ticket_search("backup server failed")))
    united = [q["sql"] for q in queries if " UNION ALL (" in q["sql"] and "s.id + 0" in q["sql"]]
    assert united and all(sql.count("@@") == len(readings) for sql in united)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ticket_id FROM search_entry WHERE vector @@ %s::tsquery",
            [postgres.query_tsquery(query)],
        )
        by_or = {row[0] for row in cursor.fetchall()}
    assert by_or == {first.pk, second.pk}
    assert found == {first.reference, second.reference}


@pytest.mark.django_db
def test_words_common_alone_but_rare_together_skip_the_walk_for_the_newest_bands(anna, monkeypatch):
    """A phrase of words each too common to read through the index at once, but whose
    matches together are few by the vocabulary's counts ("server bamo since": 6 in the
    newest 10,000 entries at 1M), reads the newest bands' GIN indexes newest first
    without walking the newest entries back first (9-19 ms that could not end the
    search); words the counts say come together often still walk. Both ways find the
    same tickets."""
    from django.test.utils import CaptureQueriesContext

    from search.backends import postgres
    from search.models import Word

    with connection.cursor() as cursor:  # ids as at 10,000,000 entries
        cursor.execute("SELECT last_value FROM search_entry_id_seq")
        before = cursor.fetchone()[0]
        cursor.execute("SELECT setval('search_entry_id_seq', 10000000)")
    try:
        first = open_ticket(subject="Backup", body="the backup server failed since monday")
        second = open_ticket(subject="Again", body="our server backup failed", contact=anna)
        third = open_ticket(subject="Other", body="since the server restarted, backups run")
        # Each in one entry of 100: all three expected in ~0.16 of the newest 10,000
        # (each further word of them 4 times likelier with the first than by chance).
        for word in ("backup", "server", "failed"):
            Word.objects.create(word=word, documents=100_000)
        Word.objects.create(word="since", documents=6_000_000)  # with "server": 100

        def search(text: str) -> tuple[set[str], list[str]]:
            with CaptureQueriesContext(connection) as queries:
                found = set(refs(ticket_search(text)))
            reads = [q["sql"] for q in queries if "FROM search_entry s" in q["sql"]]
            return found, reads

        found, reads = search("backup server failed")
        assert found == {first.reference, second.reference}
        assert reads and not [sql for sql in reads if "OFFSET 0" in sql], reads  # no walk
        assert all("s.id + 0" in sql and " AND s.id <= " in sql for sql in reads), reads
        found_walking, reads = search("server since")
        assert found_walking == {first.reference, third.reference}
        assert any("OFFSET 0" in sql for sql in reads), reads  # walked
        monkeypatch.setattr(postgres, "WALK_PAYS", 0.0)  # the walk always
        found, reads = search("backup server failed")
        assert any("OFFSET 0" in sql for sql in reads), reads
        assert found == {first.reference, second.reference}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval('search_entry_id_seq', %s)", [before])


@pytest.mark.django_db
def test_a_word_every_language_shares_meets_one_languages_words_only_in_that_language(
    anna, monkeypatch
):
    """Once the vocabulary's counts per configuration have caught up, words are taken as
    independent within one language: a word every language shares ("bazi") with two
    Russian words is expected in a quarter of what the overall counts (and their 4x for
    words that come together) say, so such a phrase reads the newest bands without
    walking the newest entries for 4-6 matches first; Russian words together are
    expected as often as before, and walk. Every way finds the same tickets."""
    from django.test.utils import CaptureQueriesContext

    from search.backends import postgres
    from search.models import Word, WordConfig, WordsWatermark
    from search.selectors import TEXT_CANDIDATES, query_from
    from search.words import forget_counts

    with connection.cursor() as cursor:  # ids as at 10,000,000 entries
        cursor.execute("SELECT last_value FROM search_entry_id_seq")
        before = cursor.fetchone()[0]
        cursor.execute("SELECT setval('search_entry_id_seq', 10000000)")
    try:
        first = open_ticket(subject="Bazi", body="bazi: домен не продлевается, помогите")
        second = open_ticket(subject="Домен", body="Помогите, домен не работает", contact=anna)
        open_ticket(subject="Other", body="bazi in English, please")
        # 10,000,000 entries: 40% English, 25% Russian, 20% Dutch, 15% Spanish; "bazi"
        # in 5% of each; "домен" and "помогите" in 40% of the Russian ones.
        totals = {"english": 4_000_000, "russian": 2_500_000, "dutch": 2_000_000}
        totals["spanish"] = 1_500_000
        for config, entries in totals.items():
            WordConfig.objects.create(word="", config=config, documents=entries)
            WordConfig.objects.create(word="bazi", config=config, documents=entries * 5 // 100)
        for word in ("домен", "помогите"):
            Word.objects.create(word=word, documents=1_000_000)
            WordConfig.objects.create(word=word, config="russian", documents=1_000_000)
        Word.objects.create(word="bazi", documents=500_000)

        def share(text: str) -> float | None:
            return postgres.PostgresBackend._rare_and_newest(query_from(text), TEXT_CANDIDATES)[2]

        def search(text: str) -> tuple[set[str], bool]:
            with CaptureQueriesContext(connection) as queries:
                found = set(refs(ticket_search(text)))
            reads = [q["sql"] for q in queries if "FROM search_entry s" in q["sql"]]
            return found, any("OFFSET 0" in sql for sql in reads)

        # Not caught up (no watermarks): the overall counts, 0.05 x (4 x 0.1) x (4 x 0.1).
        assert share("bazi домен помогите") == pytest.approx(0.008, rel=1e-3)
        assert search("bazi домен помогите") == ({first.reference}, True)  # walks: 80 expected
        WordsWatermark.objects.create(id=1, last_entry_id=10_000_000)
        WordsWatermark.objects.create(id=2, last_entry_id=10_000_000)
        forget_counts()  # what the words refresh that moves the watermarks does
        # Per language: only in the Russian quarter, 0.25 x 0.05 x 0.4 x 0.4.
        assert share("bazi домен помогите") == pytest.approx(0.002)
        assert search("bazi домен помогите") == ({first.reference}, False)  # 20: no walk
        assert share("домен помогите") == pytest.approx(0.04)  # 0.25 x 0.4 x 0.4
        assert search("домен помогите") == ({first.reference, second.reference}, True)
        assert share("bazi неведомое") == 0.0  # a word no entry holds
        # "again" is an English stop word: the English entries match "renew again" by
        # "renew" alone (0.4 x 0.1), not by both words (0.4 x 0.1 x 0.1).
        for word in ("renew", "again"):
            Word.objects.create(word=word, documents=400_000)
            WordConfig.objects.create(word=word, config="english", documents=400_000)
        assert share("renew again") == pytest.approx(0.04)
        # Spanish reads "basa" as "bas", whose range holds "base"; English entries are
        # matched by English's "basa" (0.4 x 0.01 x 0.1), not by every "bas…" word.
        Word.objects.create(word="basa", documents=40_000)
        WordConfig.objects.create(word="basa", config="english", documents=40_000)
        WordConfig.objects.create(word="base", config="english", documents=2_000_000)
        assert share("basa renew") == pytest.approx(0.0004)
        monkeypatch.setattr(postgres, "WALK_PAYS", 0.0)  # the walk always
        assert search("bazi домен помогите") == ({first.reference}, True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval('search_entry_id_seq', %s)", [before])


@pytest.mark.django_db
def test_the_vocabulary_counts_each_words_entries_per_configuration(anna):
    """``words_refresh`` counts the words as written of every entry under the entry's
    configuration (and the entries of each), from its own watermark: a desk that had the
    overall counts before catches up on the rest."""
    from search.models import Entry, Word, WordConfig, WordsWatermark
    from search.words import BY_CONFIG, WORDS, words_refresh

    open_ticket(subject="Domain", body="The domain expired yesterday, please renew the domain")
    open_ticket(subject="Домен", body="Домен не работает, помогите пожалуйста", contact=anna)
    assert words_refresh() > 0
    counts = {(w.word, w.config): w.documents for w in WordConfig.objects.all()}
    expected: dict[tuple[str, str], int] = {}
    for entry in Entry.objects.select_related("ticket", "message"):
        text = entry.message.body_text if entry.message else entry.ticket.subject
        for word in set(re.findall(r"[^\W\d_]{4,40}", text.lower())):
            expected[(word, entry.config)] = expected.get((word, entry.config), 0) + 1
    assert {k: v for k, v in counts.items() if k[0]} == expected
    assert ("домен", "russian") in expected and ("domain", "english") in expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT config, count(*) FROM search_entry GROUP BY config")
        assert {("", c): n for c, n in cursor.fetchall()} == {
            k: v for k, v in counts.items() if k[0] == ""
        }
    for word in Word.objects.all():  # the overall counts are the sums
        assert word.documents == sum(n for (w, _), n in counts.items() if w == word.word)
    marks = dict(WordsWatermark.objects.values_list("id", "last_entry_id"))
    assert marks[WORDS] == marks[BY_CONFIG] > 0
    assert words_refresh() == 0


@pytest.mark.django_db
def test_a_querys_counts_are_read_once_until_the_words_refresh_runs(anna):
    """The vocabulary's counts of a query's words are read once per process (a statement
    planned on every word search, 0.3-0.8 ms of PostgreSQL's CPU) and kept until the words
    refresh moves them; a phrase read back from the newest entry still reads that id
    afresh, so a message is found as soon as it commits."""
    from django.test.utils import CaptureQueriesContext

    from search.models import Word
    from search.tasks import words_refresh

    first = open_ticket(subject="Renewal", body="the quartz lamp broke again", contact=anna)
    for word in ("quartz", "lamp", "broke"):
        Word.objects.create(word=word, documents=1_000_000)  # common: walked

    def search(text: str) -> tuple[list[str], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            found = refs(ticket_search(text))
        return found, [q["sql"] for q in queries]

    def counted(statements: list[str]) -> bool:
        return any("FROM search_word v" in sql for sql in statements)

    found, statements = search("quartz lamp")
    assert found == [first.reference] and counted(statements)
    second = open_ticket(subject="Again", body="a quartz lamp, another one", contact=anna)
    found, statements = search("quartz lamp")
    assert found == [second.reference, first.reference]  # the newest entry read afresh
    assert not counted(statements)
    assert any(sql.startswith("SELECT max(id) FROM search_entry") for sql in statements)
    found, statements = search("lamp quartz")  # the same words: the same counts
    assert not counted(statements)
    assert words_refresh() > 0  # the vocabulary moved: read again
    found, statements = search("quartz lamp")
    assert found == [second.reference, first.reference] and counted(statements)
