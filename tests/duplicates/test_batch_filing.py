"""detect_many files a batch's new signatures together (issue 16: follow-ups of 400 mails
a second): fewer statements per ticket, the same flags as one ticket at a time."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from duplicates import signatures
from duplicates.features import Features, retrieval_keys
from duplicates.models import DuplicateBand, DuplicateFlag, TicketSignature
from duplicates.services import duplicates_detect, duplicates_detect_many, flags_file_pending
from duplicates.signatures import (
    _bands_insert,
    _chunks,
    candidates,
    candidates_many,
    signature_store,
    signatures_store,
    ticket_rows,
)
from tickets.models import Channel, Contact, Ticket

from ..factories import AccountFactory, ContactFactory, open_ticket

pytestmark = pytest.mark.django_db
STORIES = [
    "The transfer of {d} keeps failing: the panel says the auth code is invalid.",
    "Transfer of {d} fails again, auth code invalid although the domain is unlocked.",
    "Our invoice INV-{n} was charged twice this month, please refund one payment.",
    "The mailbox info@{d} stopped receiving mail since this morning, error 550.",
    "Please move {d} to the new DNS servers ns1.example.net and ns2.example.net.",
]


def _tickets(count: int, *, start: int = 0, contacts: list[Contact] | None = None) -> list[int]:
    """New tickets, several per contact and account, telling overlapping stories (of new
    contacts, or of ``contacts``)."""
    if contacts is None:
        accounts = [AccountFactory() for _ in range(2)]
        contacts = [ContactFactory(account=accounts[i % 2]) for i in range(3)]
    ids = []
    for i in range(start, start + count):
        body = STORIES[i % len(STORIES)].format(d=f"shop{i % 3}.example", n=1000 + i % 2)
        channel = Channel.CHAT if i % 4 == 3 else Channel.EMAIL
        ticket = open_ticket(
            subject=f"Help {i % 3}", body=body, contact=contacts[i % 3], channel=channel
        )
        ids.append(ticket.pk)
    return ids


def _flags() -> set[tuple[int, int, float, str]]:
    return {
        (f.ticket_id, f.candidate_id, round(f.score, 6), f.status)
        for f in DuplicateFlag.objects.all()
    }


def _signatures() -> set[tuple[int, str, str, str]]:
    rows = TicketSignature.objects.values_list("ticket_id", "text_hash", "tokens", "identifiers")
    return {(pk, text, str(tokens), str(identifiers)) for pk, text, tokens, identifiers in rows}


def test_a_batch_flags_what_one_ticket_at_a_time_flags(departments, settings):
    settings.DUPLICATES_AUTO_MERGE_EXACT = False  # merges would change the tickets compared
    ids = _tickets(15)
    duplicates_detect_many(ids)
    together = _flags()
    bands = set(DuplicateBand.objects.values_list("ticket_id", "band_key"))
    signatures = _signatures()
    assert together  # the stories overlap: some tickets are flagged
    DuplicateFlag.objects.all().delete()
    DuplicateBand.objects.all().delete()
    TicketSignature.objects.all().delete()
    for ticket_id in sorted(ids):
        duplicates_detect(ticket_id, notify=False)
    assert _flags() == together
    assert set(DuplicateBand.objects.values_list("ticket_id", "band_key")) == bands
    assert _signatures() == signatures


def test_a_batch_of_new_tickets_costs_two_statements_a_ticket(departments):
    """Was five a ticket: its row, its messages, its keys, its signature, the lookup.
    Now the rows, keys and signatures of the batch are a statement each."""

    def statements(count: int, start: int) -> int:
        ids = _tickets(count, start=start)
        with CaptureQueriesContext(connection) as queries:
            duplicates_detect_many(ids)
        return len(queries)

    few, many = statements(4, 0), statements(12, 100)
    # Every new ticket still needs its messages read and its candidates looked up, and a
    # flag found is filed; nothing else grows with the batch.
    flagged = DuplicateFlag.objects.count()
    assert many - few <= 2 * 8 + 2 * flagged


@pytest.mark.postgres
def test_a_batch_looks_up_its_candidates_in_one_statement_of_fixed_text(departments, settings):
    """PostgreSQL: every ticket's lookup of a batch is one statement whose text is the same
    for 4 or 60 tickets (their keys and windows are one JSON parameter), so it plans in
    no time; the UNION ALL of 50 lookups it replaces took ~70 ms to plan (issue 16)."""
    settings.DUPLICATES_AUTO_MERGE_EXACT = False  # a merge makes the later tickets go alone
    texts = []
    for count, start in ((4, 0), (60, 100)):
        ids = _tickets(count, start=start)
        with CaptureQueriesContext(connection) as queries:
            duplicates_detect_many(ids)
        lookups = [q["sql"] for q in queries if "jsonb_to_recordset" in q["sql"]]
        assert len(lookups) == 1
        texts.append(lookups[0].split("::jsonb", 1)[1])  # the text after the parameter
    assert texts[0] == texts[1]
    assert DuplicateFlag.objects.exists()


def test_a_batch_decodes_each_candidate_once(departments, settings):
    """The tickets of a batch share most of their candidates (the open tickets of their
    contacts and accounts): each candidate's stored evidence is decoded once a batch, not
    once a pair (~4% of an import's CPU, issue 16). Same candidates as one at a time."""
    settings.DUPLICATES_AUTO_MERGE_EXACT = False
    earlier = _tickets(6)
    duplicates_detect_many(earlier)
    later = _tickets(6, start=6)
    rows = ticket_rows(later)
    features = signatures_store(list(rows.values()))  # as detect_many files a batch first
    found = candidates_many([(rows[pk], features[pk]) for pk in later])
    assert found is not None
    by_candidate: dict[int, list[object]] = {}
    for pk in later:
        alone = candidates(rows[pk], features[pk])
        assert [(c.ticket_id, c.features) for c in found[pk]] == [
            (c.ticket_id, c.features) for c in alone
        ]
        for candidate in found[pk]:
            by_candidate.setdefault(candidate.ticket_id, []).append(candidate.features)
    shared = [decoded for decoded in by_candidate.values() if len(decoded) > 1]
    assert shared  # the contacts' earlier tickets are candidates of several later ones
    for decoded in shared:
        assert all(features is decoded[0] for features in decoded)


def test_the_keys_are_filed_with_their_ticket_contact_account_and_time(departments):
    """The keys go in as arrays on PostgreSQL and as rows of values on SQLite: either way
    each ticket has exactly its retrieval keys, with its contact, its account (or none)
    and its opening time, and filing them again adds nothing."""
    with_account = ContactFactory(account=AccountFactory())
    without_account = ContactFactory(account=None)
    tickets = [
        open_ticket(subject="Transfer", body=STORIES[0].format(d="a.example"), contact=contact)
        for contact in (with_account, without_account, with_account)
    ]
    rows = ticket_rows([t.pk for t in tickets])
    features = signatures_store(list(rows.values()))
    expected = {
        (key, t.pk, t.contact_id, t.account_id, t.created_at)
        for t in tickets
        for key in retrieval_keys(features[t.pk])
    }
    assert len(expected) > 3 * 16  # LSH bands and identifiers of each
    assert {t.account_id for t in tickets} == {with_account.account_id, None}
    filed = DuplicateBand.objects.values_list(
        "band_key", "ticket_id", "contact_id", "account_id", "created_at"
    )
    assert set(filed) == expected
    adapt = connection.ops.adapt_datetimefield_value
    again = [
        (t.pk, t.contact_id, t.account_id, adapt(t.created_at), retrieval_keys(features[t.pk]))
        for t in tickets
    ]
    with connection.cursor() as cursor:
        _bands_insert(cursor, again)  # a concurrent run's: nothing doubled, no error
    assert sorted(filed) == sorted(expected)


@pytest.mark.parametrize(
    "atomic", [True, pytest.param(False, marks=pytest.mark.django_db(transaction=True))]
)
def test_keys_filed_already_are_left_and_the_others_filed_with_them(departments, atomic):
    """Keys that meet keys filed already (a concurrent run's, a run's cut off before its
    signature) leave those as they were and file the others, in a transaction (``ON
    CONFLICT DO NOTHING``, and the transaction goes on) or not (a plain insert first,
    then again with it on PostgreSQL)."""
    contact = ContactFactory(account=AccountFactory())
    first, second = (
        open_ticket(subject="Transfer", body=STORIES[0].format(d=f"d{i}.example"), contact=contact)
        for i in range(2)
    )
    when, later = first.created_at, first.created_at + timedelta(hours=1)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        _bands_insert(cursor, [(first.pk, contact.pk, contact.account_id, adapt(when), [1, 2, 3])])
    # The same pair with another time: a key filed already keeps what it was filed with.
    batch = [
        (second.pk, contact.pk, None, adapt(later), [2, 4]),
        (first.pk, None, None, adapt(later), [2, 3, 4, 5]),
    ]
    with transaction.atomic() if atomic else nullcontext(), connection.cursor() as cursor:
        assert connection.in_atomic_block == atomic
        _bands_insert(cursor, batch)
        DuplicateBand.objects.filter(ticket_id=second.pk).count()  # the transaction is usable
    filed = set(
        DuplicateBand.objects.values_list(
            "ticket_id", "band_key", "contact_id", "account_id", "created_at"
        )
    )
    assert filed == {
        *((first.pk, key, contact.pk, contact.account_id, when) for key in (1, 2, 3)),
        *((first.pk, key, None, None, later) for key in (4, 5)),
        *((second.pk, key, contact.pk, None, later) for key in (2, 4)),
    }


@given(
    st.lists(st.integers(min_value=0, max_value=30), max_size=40),
    st.integers(min_value=1, max_value=50),
)
def test_keys_are_filed_in_runs_of_whole_tickets(counts, size):
    """``_chunks``: every ticket once, in order, its keys together; a run holds at most
    ``size`` keys unless one ticket alone has more."""
    bands = [(i, None, None, None, list(range(n))) for i, n in enumerate(counts)]
    runs = _chunks(bands, size)
    assert [band for run in runs for band in run] == bands
    for run in runs:
        assert run
        assert len(run) == 1 or sum(len(band[4]) for band in run) <= size


def test_a_deleted_ticket_takes_its_keys_with_it(departments):
    """The keys have no foreign key in the database (its check was ~40% of their insert):
    deleting a ticket deletes its keys all the same, and leaves the others' alone."""
    contact = ContactFactory(account=AccountFactory())
    first, second = (
        open_ticket(subject="Transfer", body=STORIES[0].format(d=f"d{i}.example"), contact=contact)
        for i in range(2)
    )
    signatures_store(list(ticket_rows([first.pk, second.pk]).values()))
    assert DuplicateBand.objects.filter(ticket_id=first.pk).exists()
    kept = DuplicateBand.objects.filter(ticket_id=second.pk).count()
    first.delete()
    assert not DuplicateBand.objects.filter(ticket_id=first.pk).exists()
    assert DuplicateBand.objects.filter(ticket_id=second.pk).count() == kept > 0


@pytest.mark.postgres  # TRUNCATE and its trigger: PostgreSQL only
def test_truncating_the_tickets_empties_the_keys(departments):
    """``TRUNCATE tickets_ticket … CASCADE`` (the bench fills, with ``RESTART IDENTITY``)
    emptied the keys through their foreign key; without it a trigger does, so no key
    is left pointing at the next fill's tickets. Listed in the same statement (Django's
    flush) they are emptied once, without an error."""
    for truncate in (
        "TRUNCATE tickets_ticket RESTART IDENTITY CASCADE",
        "TRUNCATE tickets_ticket, duplicates_duplicateband CASCADE",
    ):
        contact = ContactFactory(account=AccountFactory())
        body = STORIES[0].format(d="a.example")
        ticket = open_ticket(subject="Transfer", body=body, contact=contact)
        signatures_store(list(ticket_rows([ticket.pk]).values()))
        assert DuplicateBand.objects.exists()
        with connection.cursor() as cursor:
            # The test's own transaction holds deferred checks, which a TRUNCATE refuses.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(truncate)
        assert not DuplicateBand.objects.exists(), truncate


def test_a_batch_files_the_new_flags_of_its_tickets_in_one_statement(departments, settings):
    """The first runs' flags go in together after the batch's detections (each ticket's
    was an insert of its own), the same flags as one ticket at a time."""
    settings.DUPLICATES_AUTO_MERGE_EXACT = False
    ids = _tickets(15)
    with CaptureQueriesContext(connection) as queries:
        duplicates_detect_many(ids)
    # INSERT … ON CONFLICT on PostgreSQL, INSERT OR IGNORE on SQLite.
    inserts = [
        q["sql"] for q in queries if q["sql"].startswith("INSERT") and "duplicateflag" in q["sql"]
    ]
    flagged = {ticket for ticket, _, _, _ in _flags()}
    assert len(flagged) > 2  # several tickets have flags of their own
    assert len(inserts) == 1


def test_later_batches_reuse_the_evidence_decoded_before_unless_it_was_filed_again(
    departments, settings
):
    """A process decodes a candidate's stored evidence once while it stays as filed: the
    next batch meets the same open tickets (issue 16). Evidence filed again is read anew."""
    settings.DUPLICATES_AUTO_MERGE_EXACT = False
    accounts = [AccountFactory() for _ in range(2)]
    contacts = [ContactFactory(account=accounts[i % 2]) for i in range(3)]
    earlier = _tickets(6, contacts=contacts)
    duplicates_detect_many(earlier)

    def looked_up(start: int) -> dict[int, Features]:
        later = _tickets(3, start=start, contacts=contacts)
        rows = ticket_rows(later)
        features = signatures_store(list(rows.values()))
        found = candidates_many([(rows[pk], features[pk]) for pk in later])
        assert found is not None
        return {c.ticket_id: c.features for pk in later for c in found[pk]}

    first = looked_up(6)
    # Filed again: other evidence, another stamp (``signatures._signature_params``).
    TicketSignature.objects.filter(ticket_id=earlier[0]).update(
        tokens=["renamed", "words"], evidence_stamp=F("evidence_stamp") + 1
    )
    second = looked_up(9)
    kept = (set(first) & set(second) & set(earlier)) - {earlier[0]}
    assert kept  # the same earlier tickets are candidates of both batches
    assert all(second[pk] is first[pk] for pk in kept)
    assert earlier[0] in second
    assert second[earlier[0]].tokens == ("renamed", "words")


def test_the_evidence_stamp_is_the_same_for_the_same_evidence_only(departments):
    """Filing a ticket's unchanged features again keeps its evidence's stamp (its decoded
    evidence stays good); a change in what a lookup decodes changes it."""
    (pk,) = _tickets(1, contacts=[ContactFactory()])
    row = ticket_rows([pk])[pk]
    features = signatures_store([row])[pk]
    stamp = TicketSignature.objects.get(ticket_id=pk).evidence_stamp
    assert stamp is not None
    signatures_store([ticket_rows([pk])[pk]])  # filed as it was: nothing moved
    signature_store(ticket_rows([pk])[pk])
    assert TicketSignature.objects.get(ticket_id=pk).evidence_stamp == stamp
    for changed in (
        replace(features, tokens=(*features.tokens, "more")),
        replace(features, marks=frozenset({"question"})),
        replace(features, language="nl"),
        replace(features, account_id=None),
    ):
        with connection.cursor() as cursor:
            cursor.execute(signatures._signature_sql(1), signatures._signature_params(row, changed))
        assert TicketSignature.objects.get(ticket_id=pk).evidence_stamp != stamp


def test_a_batch_looks_up_only_earlier_tickets_as_one_by_one_even_at_the_same_moment(
    departments,
):
    """The batch's statement finds for each ticket what its own lookup finds: the tickets
    opened before it (its time, then its id), also those opened at the same microsecond."""
    ids = _tickets(8)
    moment = Ticket.objects.get(pk=ids[2]).created_at
    Ticket.objects.filter(pk__in=ids[2:6]).update(created_at=moment)  # four at one moment
    rows = ticket_rows(ids)
    features = signatures_store(list(rows.values()))
    together = candidates_many([(rows[pk], features[pk]) for pk in ids])
    assert together is not None
    for pk in ids:
        alone = candidates(rows[pk], features[pk])
        assert [c.ticket_id for c in together[pk]] == [c.ticket_id for c in alone]
        earlier = (rows[pk].created_at, pk)
        assert all((rows[c.ticket_id].created_at, c.ticket_id) < earlier for c in alone)
    # Of one contact, at the same moment: the one opened first (smaller id) is found.
    assert ids[2] in {c.ticket_id for c in together[ids[5]]}
    tied = set(ids[2:6])
    for pk in tied:
        assert all(c.ticket_id < pk for c in together[pk] if c.ticket_id in tied)


def test_pending_flags_are_filed_as_bulk_create_files_them(departments):
    """``flags_file_pending`` writes the statement ``bulk_create(ignore_conflicts=True)``
    sends: the same rows, a pair filed already left as it was."""
    contact = ContactFactory(account=AccountFactory())
    a, b, c = (
        open_ticket(subject="Transfer", body=STORIES[0].format(d=f"d{i}.example"), contact=contact)
        for i in range(3)
    )

    def flags() -> list[DuplicateFlag]:
        return [
            DuplicateFlag(ticket_id=b.pk, candidate_id=a.pk, score=0.8125, reasons=["same 'x'"]),
            DuplicateFlag(ticket_id=c.pk, candidate_id=a.pk, score=0.5, reasons=["ü", 'a "b"']),
            DuplicateFlag(ticket_id=c.pk, candidate_id=b.pk, score=1.0, reasons=[]),
        ]

    def filed() -> set[tuple[object, ...]]:
        fields = [f.attname for f in DuplicateFlag._meta.concrete_fields if f.attname != "id"]
        rows = DuplicateFlag.objects.values_list(*fields)
        return {tuple(str(v) if isinstance(v, list) else v for v in row) for row in rows}

    for file in (
        flags_file_pending,
        lambda f: DuplicateFlag.objects.bulk_create(f, ignore_conflicts=True),
    ):
        DuplicateFlag.objects.all().delete()
        first = DuplicateFlag(ticket_id=c.pk, candidate_id=b.pk, score=0.25, reasons=["old"])
        first.created_at = first.updated_at = a.created_at
        first.save()  # filed by a concurrent run: it stands
        pending = flags()
        for flag in pending:
            flag.created_at = flag.updated_at = b.created_at
        file(pending)
        if file is flags_file_pending:
            assert pending == []  # emptied
            ours = filed()
        else:
            assert filed() == ours
    assert len(ours) == 3 and ("['old']" in {row[3] for row in ours})
