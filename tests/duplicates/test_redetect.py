"""A young ticket's reply re-runs detection only when it changes what detection reads
(issue 16: a reply's re-detection was ~44% of an import's detections), and a ticket is
compared with its newest candidates only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duplicates import signatures
from duplicates.models import DuplicateFlag, TicketSignature
from duplicates.services import duplicates_detect_many
from duplicates.signatures import material_hash, signatures_store, ticket_rows
from tickets import services
from tickets.models import Channel, Contact, Ticket
from tickets.services import MessageIn

from ..factories import AccountFactory, ContactFactory, open_ticket

pytestmark = pytest.mark.django_db

FIRST = "The transfer of shop1.example keeps failing: the auth code is invalid. Order 4471230."
# Another account's customer, the same words, but no domain or order: not a duplicate yet.
SECOND = "Hello, the transfer keeps failing, the panel says the auth code is invalid."
# What makes it one: the same domain and order, which only a lookup by them finds.
NAMES_IT = "The domain is shop1.example, order 4471230."


def _pair() -> tuple[Ticket, Ticket, Contact]:
    older = open_ticket(
        subject="Transfer of shop1.example",
        body=FIRST,
        contact=ContactFactory(account=AccountFactory()),
    )
    duplicates_detect_many([older.pk])
    contact = ContactFactory(account=AccountFactory())
    newer = open_ticket(subject="Transfer failing", body=SECOND, contact=contact)
    duplicates_detect_many([newer.pk])
    assert not DuplicateFlag.objects.exists()
    return older, newer, contact


def _reply(ticket: Ticket, contact: Contact, text: str) -> None:
    services.message_add(
        ticket=ticket,
        message=MessageIn(channel=Channel.EMAIL, body_text=text, author_contact=contact),
    )


def _lookups(queries: CaptureQueriesContext) -> list[str]:
    # The candidates' statement (PostgreSQL's lateral one, or SQLite's UNION ALL).
    return [q["sql"] for q in queries if "t.id <> " in q["sql"]]


def test_a_reply_that_adds_nothing_detection_reads_is_not_looked_up_again(departments):
    _, newer, contact = _pair()
    checked = TicketSignature.objects.get(pk=newer.pk).checked
    assert checked  # the first run ran to its end
    _reply(newer, contact, "Thanks!\n\nThe transfer is failing.")
    with CaptureQueriesContext(connection) as queries:
        duplicates_detect_many([newer.pk])
    assert not _lookups(queries)
    signature = TicketSignature.objects.get(pk=newer.pk)
    # The features' inputs changed (recorded), what they come to did not.
    assert signature.checked != checked
    assert signature.checked[32:] == checked[32:]
    assert "Thanks" not in SECOND  # the text changed: the signature is filed again
    row = ticket_rows([newer.pk])[newer.pk]
    assert row.filed is not None and row.filed[0] == signature.text_hash
    assert not DuplicateFlag.objects.exists()


def test_a_reply_below_the_first_mails_signature_is_not_even_built_again(departments, monkeypatch):
    """The text is cut at the first signature and quote (``strip_quotes_and_signature``):
    what follows reads the same, so the features are not built again."""
    older, _, _ = _pair()
    contact = ContactFactory(account=AccountFactory())
    signed = open_ticket(
        subject="Transfer failing",
        body=SECOND + "\n\nKind regards\n-- \nSent from my phone\n",
        contact=contact,
    )
    duplicates_detect_many([signed.pk])
    checked = TicketSignature.objects.get(pk=signed.pk).checked
    _reply(signed, contact, NAMES_IT)
    built: list[str] = []
    real = signatures.build_features

    def counted(**arguments: object) -> object:
        built.append(str(arguments["subject"]))
        return real(**arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(signatures, "build_features", counted)
    with CaptureQueriesContext(connection) as queries:
        duplicates_detect_many([signed.pk])
    assert built == []
    assert not _lookups(queries)
    assert TicketSignature.objects.get(pk=signed.pk).checked == checked
    assert not DuplicateFlag.objects.filter(ticket=signed).exists()


def test_a_reply_naming_the_same_domain_and_order_still_flags_the_pair(departments):
    older, newer, contact = _pair()
    _reply(newer, contact, NAMES_IT)
    with CaptureQueriesContext(connection) as queries:
        duplicates_detect_many([newer.pk])
    assert _lookups(queries)
    flag = DuplicateFlag.objects.get()
    assert (flag.ticket_id, flag.candidate_id) == (newer.pk, older.pk)
    assert any("shop1.example" in reason for reason in flag.reasons)


def test_a_run_cut_off_after_filing_the_signature_detects_again(departments):
    """The signature is filed before the lookup; what was checked is written after the
    flags. A run stopped in between (a worker killed, a database error: the task is
    retried) leaves the new signature unchecked, so the retry looks up and flags."""
    older, newer, contact = _pair()
    _reply(newer, contact, NAMES_IT)
    rows = ticket_rows([newer.pk])
    features = signatures_store(list(rows.values()))  # what the cut-off run did
    ran = features[newer.pk].inputs + material_hash(features[newer.pk])
    assert TicketSignature.objects.get(pk=newer.pk).checked != ran
    duplicates_detect_many([newer.pk])
    assert DuplicateFlag.objects.filter(ticket=newer, candidate=older).exists()
    assert TicketSignature.objects.get(pk=newer.pk).checked == ran


def test_a_ticket_is_compared_with_the_newest_candidates_only(departments, monkeypatch, settings):
    """A contact with many open tickets: the newest ``MAX_CANDIDATES`` are compared, one
    statement or one at a time alike, so a new ticket's detection costs a bounded time."""
    monkeypatch.setattr(signatures, "MAX_CANDIDATES", 6)
    settings.DUPLICATES_AUTO_MERGE_EXACT = False  # the same text: they would be merged
    contact = ContactFactory(account=AccountFactory())
    earlier = [
        open_ticket(
            subject=f"Question {i}", body=f"Invoice INV-{900 + i} is wrong.", contact=contact
        )
        for i in range(10)
    ]
    duplicates_detect_many([t.pk for t in earlier])
    new = open_ticket(subject="Question", body="Invoice INV-901 is wrong.", contact=contact)
    rows = ticket_rows([new.pk])
    features = signatures_store(list(rows.values()))
    by_age = [t.pk for t in sorted(earlier, key=lambda t: (t.created_at, t.pk))]
    alone = [c.ticket_id for c in signatures.candidates(rows[new.pk], features[new.pk])]
    # The newest of them (each part of the lookup is bounded too, so fewer than 6 here),
    # whatever they name: the one with the same invoice is among the oldest, left out.
    assert 0 < len(alone) <= 6
    assert sorted(alone) == by_age[-len(alone) :]
    assert earlier[1].pk not in alone
    together = signatures.candidates_many([(rows[new.pk], features[new.pk])])
    assert together is not None
    assert sorted(c.ticket_id for c in together[new.pk]) == sorted(alone)
