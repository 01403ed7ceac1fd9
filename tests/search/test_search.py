"""Finding tickets: every reading of the query, kept current by the writes themselves.

These run in both passes: PostgreSQL full-text search and trigrams in the real one,
SQLite FTS5 in the embedded one, behind the same selector.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from search.models import Entry
from search.selectors import INTEGRATIONS, Filters, Scope, ticket_search
from tests.factories import AgentFactory, ContactFactory, open_ticket
from tickets.services import (
    AttachmentIn,
    MessageAdd,
    MessageIn,
    TicketOpen,
    message_add,
    messages_add,
    ticket_assign,
    ticket_merge,
    ticket_split,
    ticket_status_set,
    ticket_tags_set,
    tickets_open,
)

from .conftest import refs, reply

pytestmark = pytest.mark.django_db


def test_a_phrase_from_a_customers_reply_finds_the_ticket(anna, stranger_ticket):
    ticket = open_ticket(subject="Domain transfer", body="Please move my domain.", contact=anna)
    reply(ticket, "The authorisation code was rejected by the registry twice.")
    page = ticket_search("authorisation code rejected")
    assert refs(page) == [ticket.reference]
    assert "<mark>" in page.hits[0].snippet


def test_words_only_in_the_quoted_history_do_not_find_the_ticket(anna):
    ticket = open_ticket(subject="Renewal", body="When does it renew?", contact=anna)
    reply(
        ticket,
        "Thanks, that helps.\n\nOn Mon, 3 Mar 2025 at 10:00, Support <help@desk.example> "
        "wrote:\n> Your zebracorn plan renews yearly.\n",
    )
    assert refs(ticket_search("zebracorn")) == []
    assert refs(ticket_search("helps")) == [ticket.reference]


def test_a_reseller_id_finds_the_accounts_tickets_and_the_ticket_with_that_number(anna):
    ours = open_ticket(subject="DNS", body="Records missing", contact=anna)
    other = open_ticket(subject="Unrelated", body="no match")
    page = ticket_search("200417")
    assert ours.reference in refs(page)
    assert other.reference not in refs(page)
    by_number = ticket_search(str(ours.number))
    assert refs(by_number)[0] == ours.reference


def test_a_number_read_as_ticket_number_and_reseller_id_is_one_statement(anna):
    """A number is read as a ticket number and a reseller ID at once (a phone number
    too, when it can be one); on PostgreSQL the directory's readings are one statement
    (each a round trip waiting for a core at 8 searches on 2 cores), each reading's
    tickets newest first as when read alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from search import directory

    older = open_ticket(subject="DNS", body="Records missing", contact=anna)
    newer = open_ticket(subject="Mail", body="Bounces", contact=anna)
    with CaptureQueriesContext(connection) as queries:
        page = ticket_search("200417")
    assert refs(page) == [newer.reference, older.reference]
    assert all(h.reasons == ["reseller"] for h in page.hits)
    reads = [  # the directory's (a fragment of identifiers is read after the text's)
        q["sql"] for q in queries if '"updated_at" DESC' in q["sql"] and "LIKE" not in q["sql"]
    ]
    assert len(reads) == 1 if connection.vendor == "postgresql" else len(reads) > 1, reads
    base = directory.Tickets(Q())
    accounts = directory.accounts_with_reseller_ids(["200417"])
    alone = [
        directory.numbered_read([200417, older.number], base),
        directory.newest_of_read(base, accounts=accounts),
    ]
    # Together as each alone (one statement a read: what SQLite, and a single read, run).
    assert (
        directory.read_together(alone)
        == [directory.read_together([read])[0] for read in alone]
        == [[older.pk], [newer.pk, older.pk]]
    )


def test_a_phone_number_in_any_notation_finds_contact_and_text(ivan, departments):
    contacts = open_ticket(subject="Счёт", body="Не могу оплатить", contact=ivan)
    stranger = open_ticket(subject="Call back", body="Please call me: +7 495 765 43 21.")
    found = refs(ticket_search("8 (495) 123-45-67"))
    assert found == [contacts.reference]
    assert refs(ticket_search("8 495 765-43-21")) == [stranger.reference]
    assert refs(ticket_search("+74957654321")) == [stranger.reference]


def test_email_domain_and_contact_name(anna, departments):
    ticket = open_ticket(subject="Billing", body="Invoice please", contact=anna)
    site = open_ticket(subject="Site down", body="https://shop.northwind.example/ is down")
    assert refs(ticket_search("anna@northwind.example")) == [ticket.reference]
    assert set(refs(ticket_search("northwind.example"))) == {ticket.reference, site.reference}
    assert refs(ticket_search("Anna de Vries")) == [ticket.reference]


def test_an_address_found_as_written_leaves_out_addresses_that_only_contain_it(anna):
    """A whole address that belongs to someone finds that someone, not also the people
    whose address merely contains it; one that belongs to nobody is still read as a
    fragment of an address."""
    ours = open_ticket(subject="Billing", body="Invoice please", contact=anna)
    joanna = ContactFactory(name="Joanna", email="joanna@northwind.example")
    theirs = open_ticket(subject="Other", body="Something else", contact=joanna)
    assert refs(ticket_search("anna@northwind.example")) == [ours.reference]
    assert refs(ticket_search("oanna@northwind.example")) == [theirs.reference]


def test_attachment_file_names_and_order_numbers(anna):
    ticket = open_ticket(
        subject="Refund",
        body="See attached, order NW-88412.",
        contact=anna,
        attachments=[AttachmentIn("bank-statement-march.pdf", b"%PDF-1.4 x", "application/pdf")],
    )
    open_ticket(subject="Other", body="order NW-99999")
    assert refs(ticket_search("bank-statement-march.pdf")) == [ticket.reference]
    assert refs(ticket_search("NW-88412")) == [ticket.reference]


def test_the_file_names_the_intake_hands_over_are_those_read_back(departments):
    """messages_stored carries each message's attachment names, in the order a read of
    its attachments gives: the index rows built from them are those built from a read."""
    from search.indexing import _attachment_names, message_row
    from tickets.models import Message
    from tickets.signals import messages_stored

    handed: list[tuple[list[Message], dict[int, list[str]]]] = []

    def keep(sender, messages, filenames=None, **kwargs):
        handed.append((list(messages), filenames))

    messages_stored.connect(keep, dispatch_uid="test.keep_filenames")
    try:
        files = [
            AttachmentIn(f"report-{n}_v{n}.pdf", b"%PDF x", "application/pdf") for n in (3, 1, 2)
        ]
        opened = tickets_open(
            [
                TicketOpen(
                    subject=f"Files {i}",
                    department=departments["customer-support"],
                    message=MessageIn(
                        channel="email", body_text="see files", attachments=files[: i + 1]
                    ),
                )
                for i in range(3)
            ]
            + [
                TicketOpen(
                    subject="No files",
                    department=departments["customer-support"],
                    message=MessageIn(channel="email", body_text="nothing attached"),
                )
            ]
        )
    finally:
        messages_stored.disconnect(dispatch_uid="test.keep_filenames")
    ((messages, filenames),) = handed
    read = _attachment_names([m.pk for m in messages])
    assert filenames == read
    assert [len(filenames.get(r.message.pk, [])) for r in opened] == [1, 2, 3, 0]
    assert [message_row(m, filenames.get(m.pk, ())) for m in messages] == [
        message_row(m, read.get(m.pk, ())) for m in messages
    ]


def test_a_fragment_of_an_identifier_finds_it(ivan, departments):
    ticket = open_ticket(subject="Hi", body="Hello", contact=ivan)
    assert ticket.reference in refs(ticket_search("1234567"))  # the end of the phone number
    assert ticket.reference in refs(ticket_search("roga.exa"))  # part of the address


def test_a_message_written_in_a_batch_is_indexed_with_it(departments, anna):
    customer = departments["customer-support"]
    opened = tickets_open(
        [
            TicketOpen(
                subject=f"Batch {i}",
                department=customer,
                message=MessageIn(channel="email", body_text=f"marmalade number {i}"),
            )
            for i in range(30)
        ]
    )
    tickets = [r.ticket for r in opened]
    messages_add(
        [
            MessageAdd(
                ticket=t, message=MessageIn(channel="email", body_text=f"quince reply {t.pk}")
            )
            for t in tickets[:10]
        ]
    )
    assert Entry.objects.filter(ticket__in=tickets).count() == 30 + 30 + 10
    assert len(ticket_search("marmalade", page_size=50).hits) == 30
    assert len(ticket_search("quince").hits) == 10


def test_a_rolled_back_write_leaves_nothing_in_the_index(anna):
    ticket = open_ticket(subject="Keep", body="first", contact=anna)
    before = Entry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        reply(ticket, "kumquat words that never happened")
        raise RuntimeError("the caller fails after the write")
    assert Entry.objects.count() == before
    assert refs(ticket_search("kumquat")) == []


def test_merged_and_split_messages_follow_their_ticket(anna, agent):
    source = open_ticket(subject="First", body="walrus problem", contact=anna)
    target = open_ticket(subject="Second", body="other words", contact=anna)
    ticket_merge(source=source, target=target, actor=agent)
    page = ticket_search("walrus")
    assert target.reference in refs(page)
    hit = next(h for h in page.hits if h.ticket.pk == target.pk)
    assert hit.message_id is not None  # the moved message, now the survivor's
    message = reply(target, "a separate narwhal issue")
    new = ticket_split(message=message, actor=agent)
    assert refs(ticket_search("narwhal")) == [new.reference]


def test_filters_status_department_channel_assignee_tag_and_dates(departments, anna, agent):
    tech = departments["technical-support"]
    old = open_ticket(subject="Lemon one", body="lemon", contact=anna)
    chat = open_ticket(subject="Lemon two", body="lemon", channel="chat", department=tech)
    ticket_assign(ticket=chat, assignee=agent, actor=agent)
    ticket_status_set(ticket=old, status="solved", actor=agent)
    ticket_tags_set(ticket=chat, add=["vip"], actor=agent)
    both = {old.reference, chat.reference}
    assert set(refs(ticket_search("lemon"))) == both
    assert refs(ticket_search("lemon", filters=Filters(statuses=("solved",)))) == [old.reference]
    assert refs(ticket_search("lemon", filters=Filters(department_ids=(tech.pk,)))) == [
        chat.reference
    ]
    assert refs(ticket_search("lemon", filters=Filters(channels=("chat",)))) == [chat.reference]
    assert refs(ticket_search("lemon", filters=Filters(assignee_ids=(agent.pk,)))) == [
        chat.reference
    ]
    assert refs(ticket_search("lemon", filters=Filters(assignee_ids=(0,)))) == [old.reference]
    assert refs(ticket_search("lemon", filters=Filters(tags=("VIP",)))) == [chat.reference]
    future = timezone.now() + timedelta(days=1)
    assert refs(ticket_search("lemon", filters=Filters(created_from=future))) == []
    assert set(refs(ticket_search("lemon", filters=Filters(created_until=future)))) == both


def test_the_line_filter_keeps_one_support_lines_tickets(departments, lines, anna):
    vendor = open_ticket(subject="Quince one", body="quince", contact=anna)
    reseller = open_ticket(
        subject="Quince two", body="quince", department=departments["reseller-support"]
    )
    assert vendor.line_id != reseller.line_id
    assert set(refs(ticket_search("quince"))) == {vendor.reference, reseller.reference}
    assert refs(ticket_search("quince", filters=Filters(line_ids=(reseller.line_id,)))) == [
        reseller.reference
    ]


def test_internal_notes_are_found_by_agents_only(anna):
    ticket = open_ticket(subject="Quiet", body="nothing", contact=anna)
    message_add(
        ticket=ticket,
        message=MessageIn(
            channel="note",
            direction="internal",
            body_text="agent says pomegranate",
            author_user=AgentFactory(),
        ),
    )
    assert refs(ticket_search("pomegranate")) == [ticket.reference]
    assert refs(ticket_search("pomegranate", scope=INTEGRATIONS)) == []


def test_a_scope_keeps_other_customers_tickets_out(anna, departments):
    from django.db.models import Q

    ours = open_ticket(subject="Apricot", body="apricot", contact=anna)
    theirs = open_ticket(subject="Apricot", body="apricot", contact=ContactFactory())
    scope = Scope(visible=Q(contact=anna), notes=False)
    assert refs(ticket_search("apricot", scope=scope)) == [ours.reference]
    assert theirs.reference in refs(ticket_search("apricot"))


def test_results_are_ranked_and_paged(anna):
    subject_hit = open_ticket(subject="Mango outage", body="all down", contact=anna)
    for i in range(25):
        open_ticket(subject=f"Other {i}", body=f"we talked about mango once ({i})")
    first = ticket_search("mango", page_size=10)
    assert first.total == 26
    assert first.more
    assert refs(first)[0] == subject_hit.reference  # the subject weighs most
    third = ticket_search("mango", page=3, page_size=10)
    assert len(third.hits) == 6
    assert not third.more
    seen = set(refs(first)) | set(refs(ticket_search("mango", page=2, page_size=10)))
    assert not seen & set(refs(third))


def test_a_typo_is_corrected_when_nothing_matches(anna):
    from search.tasks import words_refresh

    ticket = open_ticket(subject="Hosting", body="The certificate expired yesterday", contact=anna)
    words_refresh()
    page = ticket_search("certifcate expired")
    assert refs(page) == [ticket.reference]
    assert page.suggestion == "certificate expired"


def test_an_upgraded_desk_indexes_what_was_written_before(anna):
    from django.core.management import call_command

    ticket = open_ticket(subject="Legacy subject", body="old cranberry text", contact=anna)
    reply(ticket, "an older quinoa reply")
    Entry.objects.all().delete()  # as before search existed
    assert refs(ticket_search("cranberry")) == []
    call_command("search_index", stdout=io.StringIO())
    assert refs(ticket_search("cranberry")) == [ticket.reference]
    assert refs(ticket_search("quinoa")) == [ticket.reference]
    assert refs(ticket_search("legacy")) == [ticket.reference]
    call_command("search_index", stdout=io.StringIO())
    assert Entry.objects.filter(ticket=ticket).count() == 3  # nothing twice


def test_the_tickets_found_and_their_snippets_texts_come_in_one_round_trip(anna, departments):
    """The page's tickets, what a row shows of them (account, contact, department,
    assignee) and the texts their snippets are cut from come in one statement on
    PostgreSQL (each round trip waits for a core at 8 searches on 2 cores: five of them
    did), in plain SQL (compiling the list's ``select_related`` was ~2 ms of the desk's
    CPU a search): the same tickets, fields and related objects as ``ticket_list()``, and
    reading what a row shows reads nothing more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.selectors import ticket_list

    agent = AgentFactory()
    assigned = open_ticket(subject="Quokka billing", body="the quokka invoice", contact=anna)
    ticket_assign(ticket=assigned, assignee=agent, actor=agent)
    nobodys = open_ticket(subject="Quokka plain", body="another quokka question")
    with CaptureQueriesContext(connection) as queries:
        hits = ticket_search("quokka").hits
    assert {h.ticket.pk for h in hits} == {assigned.pk, nobodys.pk}
    assert all("quokka" in str(h.snippet).lower() for h in hits)
    loads = [q["sql"] for q in queries if "tickets_ticket" in q["sql"] and "number" in q["sql"]]
    texts = [q["sql"] for q in queries if "body_text" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(loads) == 1 and texts == loads, (loads, texts)
    else:
        assert not [sql for sql in loads if re.search(r"\bJOIN\b", sql, re.IGNORECASE)]
    expected = ticket_list().in_bulk([assigned.pk, nobodys.pk])

    def fields(obj) -> dict | None:
        if obj is None:
            return None
        return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}

    with CaptureQueriesContext(connection) as reads:
        for hit in hits:
            want = expected[hit.ticket.pk]
            for name in ("account", "contact", "department", "assignee"):
                assert fields(getattr(hit.ticket, name)) == fields(getattr(want, name)), name
            assert fields(hit.ticket) == fields(want)
    assert len(reads) == 0
    by_pk = {h.ticket.pk: h.ticket for h in hits}
    assert by_pk[assigned.pk].assignee == agent and by_pk[nobodys.pk].assignee is None
    assert by_pk[assigned.pk].contact.name == anna.name
    # Made as the ORM makes them (``from_db``): saved rows of the read database, so a
    # save updates them rather than inserting.
    for ticket in by_pk.values():
        for obj in (ticket, ticket.contact, ticket.department, ticket.assignee):
            if obj is not None:
                assert obj._state.adding is False and obj._state.db == "default", obj
