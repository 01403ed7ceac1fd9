"""Many mails processed as one batch follow the same rules as one at a time, at a fixed
number of queries, and a bad mail fails alone."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.email import processor
from channels_app.inbound import inbound_process_many, inbound_store_many
from channels_app.models import InboundRecord, InboundStatus
from outbox.models import MailKind, MailStatus, OutgoingMail
from tests.outbox_helpers import deliver as outbox_deliver
from tickets.models import Attachment, Channel, Message, Status, Ticket
from tickets.services import ticket_status_set

from .mail_helpers import TECH, deliver, fixture, make_mail

pytestmark = pytest.mark.django_db


def store(raws: list[bytes], *, enqueue: bool = True) -> list[int]:
    stored = inbound_store_many(channel=Channel.EMAIL, source="t", raws=raws, enqueue=enqueue)
    return [r.pk for r, _ in stored]


def process(raws: list[bytes], callbacks) -> list[InboundRecord]:
    """Store the mails in one go and process them as one batch, after-commit work run."""
    with callbacks(execute=True):
        ids = store(raws)
        inbound_process_many(ids)
    outbox_deliver()  # what a worker does with the acknowledgements it queued
    return [InboundRecord.objects.get(pk=pk) for pk in ids]


def test_a_mixed_batch_ends_like_one_at_a_time(
    departments, anna, mailoutbox, django_capture_on_commit_callbacks
):
    """New mails, a token reply from a contact, a reply to a mail of the same batch, a
    reply to a closed ticket, a re-sent Message-ID, list mail, an unreadable record and
    an out-of-office: each ends as it would alone."""
    solved = Ticket.objects.get(
        pk=deliver(make_mail(sender="anna@northwind.example")).message.ticket_id
    )
    ticket_status_set(ticket=solved, status=Status.SOLVED)
    closed = Ticket.objects.get(
        pk=deliver(make_mail(sender="anna@northwind.example")).message.ticket_id
    )
    ticket_status_set(ticket=closed, status=Status.CLOSED)
    OutgoingMail.objects.all().delete()  # the set-up's acknowledgements
    raws = [
        # Technical support takes requests from registered contacts (Anna is one).
        make_mail(subject="Printer on fire", message_id="p1@example.org", to=TECH,
                  sender="anna@northwind.example"),
        make_mail(subject="Re: Printer on fire", message_id="p2@example.org",
                  sender="anna@northwind.example",
                  headers={"In-Reply-To": "<p1@example.org>"}),  # answers the mail above
        make_mail(subject=f"Re: [{solved.reference}] not fixed", sender="anna@northwind.example"),
        make_mail(subject=f"Re: [{closed.reference}] again", sender="anna@northwind.example"),
        make_mail(subject="Printer on fire", message_id="p1@example.org",
                  sender="anna@northwind.example",
                  headers={"Received": "from relay2.example"}),  # the same mail re-sent
        fixture("list_mail.eml"),
        b"\x00\x01 not a mail",
        make_mail(subject=f"Out of office [{solved.reference}]", sender="anna@northwind.example",
                  headers={"Auto-Submitted": "auto-replied"}),
    ]  # fmt: skip
    new, threaded, reopened, follow_up, resent, listed, unreadable, ooo = process(
        raws, django_capture_on_commit_callbacks
    )
    assert new.status == InboundStatus.PROCESSED, new.error
    first = new.message.ticket
    assert first.department.slug == "technical-support"
    assert threaded.message.ticket_id == first.pk  # threaded inside the batch
    assert reopened.message.ticket_id == solved.pk
    solved.refresh_from_db()
    assert solved.status == Status.OPEN
    follow = follow_up.message.ticket
    assert follow.pk != closed.pk and follow.linked_to_id == closed.pk
    assert resent.status == InboundStatus.PROCESSED and resent.message_id == new.message_id
    assert Message.objects.filter(external_id="p1@example.org").count() == 1
    assert listed.status == InboundStatus.IGNORED and listed.error.startswith("list mail")
    assert unreadable.status == InboundStatus.FAILED and unreadable.error
    assert ooo.message.channel == Channel.NOTE and ooo.message.ticket_id == solved.pk
    # Acknowledgements: one per new ticket (the first mail and the closed-ticket follow-up).
    acknowledged = sorted(m.subject for m in mailoutbox)
    assert acknowledged == sorted(
        [f"Re: [{first.reference}] Printer on fire", f"Re: [{follow.reference}] {follow.subject}"]
    )
    assert OutgoingMail.objects.filter(status=MailStatus.SENT).count() == 2


def test_acknowledgement_limit_counts_the_mails_of_the_batch(
    departments, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SUPPORTDESK_AUTO_REPLY_PER_HOUR = 2
    raws = [make_mail(subject=f"Question {n}") for n in range(5)]
    records = process(raws, django_capture_on_commit_callbacks)
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    assert Ticket.objects.count() == 5
    assert len(mailoutbox) == 2
    assert OutgoingMail.objects.filter(kind=MailKind.AUTO_REPLY).count() == 2


def test_a_batch_costs_the_same_queries_for_ten_or_forty_mails(departments, anna):
    """Bulk lookups and inserts: the query count does not grow with the batch."""

    def queries(count: int) -> int:
        raws = [
            make_mail(subject=f"Batch {count} #{n}", sender=f"c{count}-{n}@example.org")
            for n in range(count)
        ]
        raws += [
            make_mail(subject=f"More {count} #{n}", sender="anna@northwind.example")
            for n in range(count)
        ]
        ids = store(raws)
        with CaptureQueriesContext(connection) as captured:
            inbound_process_many(ids)
        assert InboundRecord.objects.filter(
            pk__in=ids, status=InboundStatus.PROCESSED
        ).count() == len(ids)
        return len(captured)

    queries(2)  # what a process reads once (the SLA calendars) is no batch's cost
    small, large = queries(5), queries(20)
    assert large == small, (small, large)


def test_a_mail_that_breaks_the_batch_fails_alone(departments, monkeypatch):
    """An unexpected error undoes the batch; the records are then processed one by one,
    so only the bad one fails (with the reason) and the others become tickets."""
    real_route = processor.route

    def route(parsed, departments=None):
        if parsed.subject == "boom":
            raise RuntimeError("routing table corrupt")
        return real_route(parsed, departments)

    monkeypatch.setattr(processor, "route", route)
    ids = store(
        [make_mail(subject="fine 1"), make_mail(subject="boom"), make_mail(subject="fine 2")]
    )
    inbound_process_many(ids)
    fine1, boom, fine2 = (InboundRecord.objects.get(pk=pk) for pk in ids)
    assert fine1.status == fine2.status == InboundStatus.PROCESSED
    assert boom.status == InboundStatus.FAILED and "routing table corrupt" in boom.error
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["fine 1", "fine 2"]


@pytest.mark.django_db(transaction=True)  # real commits: after-commit work runs in place
def test_a_batch_announces_its_events_once(presets, monkeypatch):
    """One detection task for the whole batch; the SLA deadlines are stored in the
    batch's own commit (issue 16: they never wait behind the next mails on a queue), so
    its events queue no recompute task."""
    from duplicates import tasks as duplicate_tasks
    from sla import tasks as sla_tasks
    from sla.models import TicketSla

    sla_calls: list[list[int]] = []
    detect_calls: list[list[int]] = []
    monkeypatch.setattr(sla_tasks.recompute_tickets, "delay", sla_calls.append)
    monkeypatch.setattr(duplicate_tasks.detect_many, "delay", detect_calls.append)
    # Not queued: processed right here (a queued task would outlive the test).
    ids = store([make_mail(subject=f"Q{n}") for n in range(6)], enqueue=False)
    inbound_process_many(ids)
    tickets = sorted(InboundRecord.objects.get(pk=pk).message.ticket_id for pk in ids)
    due = TicketSla.objects.filter(pk__in=tickets, first_response_due__isnull=False)
    assert due.count() == 6
    assert sla_calls == [] and detect_calls == [tickets]


@pytest.mark.django_db(transaction=True)
def test_a_batch_stores_deadlines_of_the_tickets_it_answers_too(presets, monkeypatch):
    """A customer's reply moves its ticket's clocks in the intake's own commit; an
    agent's change (not an intake) still queues the recompute task."""
    from sla import tasks as sla_tasks
    from sla.models import TicketSla

    sla_calls: list[list[int]] = []
    monkeypatch.setattr(sla_tasks.recompute_tickets, "delay", sla_calls.append)
    (first,) = store([make_mail(subject="Q", message_id="q@x")], enqueue=False)
    inbound_process_many([first])
    ticket = InboundRecord.objects.get(pk=first).message.ticket
    ticket_status_set(ticket=ticket, status=Status.PENDING_CUSTOMER, actor=None)
    before = TicketSla.objects.get(pk=ticket.pk)
    assert sla_calls == [[ticket.pk]]  # the agent's change: queued as before
    reply = make_mail(subject=f"Re: [{ticket.reference}] Q", headers={"In-Reply-To": "<q@x>"})
    inbound_process_many(store([reply], enqueue=False))
    after = TicketSla.objects.get(pk=ticket.pk)
    assert after.computed_from_event > before.computed_from_event
    assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN
    assert sla_calls == [[ticket.pk]]  # the reply's deadlines came with it: no task


def test_storing_many_keeps_each_mail_once(departments):
    a, b = make_mail(subject="a"), make_mail(subject="b")
    first = inbound_store_many(channel=Channel.EMAIL, source="t", raws=[a, b, a], enqueue=False)
    assert [created for _, created in first] == [True, True, False]
    assert first[0][0].pk == first[2][0].pk
    again = inbound_store_many(channel=Channel.EMAIL, source="t", raws=[b], enqueue=False)
    assert again == [(first[1][0], False)]
    assert InboundRecord.objects.count() == 2


def test_an_import_is_queued_in_tasks_of_two_hundred_mails(
    departments, monkeypatch, django_capture_on_commit_callbacks
):
    """The default batch (issue 16): 401 mails stored together are three intake tasks, and
    each batch then queues one detection, one report refresh and one acknowledgement
    task; batches of 50 made four times the tasks and 2.5 statements a mail (now 1.0)."""
    from channels_app import tasks

    calls: list[list[int]] = []
    monkeypatch.setattr(tasks.process_inbound_records, "delay", calls.append)
    with django_capture_on_commit_callbacks(execute=True):
        ids = store([make_mail(subject=f"I{n}") for n in range(401)])
    assert [len(batch) for batch in calls] == [200, 200, 1]
    assert sum(calls, []) == ids


@pytest.mark.postgres
def test_a_batch_writes_its_records_outcomes_in_one_statement(departments):
    """PostgreSQL: one ``UPDATE … FROM (VALUES …)`` for the batch's outcomes (was a
    prepared UPDATE run once a record: 200 statements to parse and plan a batch)."""
    ids = store([make_mail(subject=f"O{n}") for n in range(30)] + [b"not a mail"])
    with CaptureQueriesContext(connection) as queries:
        inbound_process_many(ids)
    outcomes = [q for q in queries if q["sql"].startswith('UPDATE "channels_app_inboundrecord"')]
    assert len(outcomes) == 2  # the attempts counted, then the outcomes
    records = InboundRecord.objects.filter(pk__in=ids).order_by("pk")
    assert [r.status for r in records] == [InboundStatus.PROCESSED] * 30 + [InboundStatus.FAILED]
    assert all(r.message_id and r.processed_at for r in records[:30])
    assert records[30].message_id is None and "readable" in records[30].error


@pytest.mark.postgres
def test_a_batch_locks_the_tickets_it_answers_after_opening_its_new_ones(departments):
    """PostgreSQL: the tickets a batch answers are locked (``FOR NO KEY UPDATE``) after its new
    tickets and their acknowledgements are written, so a concurrent batch answering the
    same tickets waits only for the end of this one (was: locked first, held while the
    new tickets were opened)."""
    answered = [
        deliver(make_mail(subject=f"Old {n}", sender=f"old{n}@example.org")).message.ticket
        for n in range(3)
    ]
    raws = [
        make_mail(subject=f"Re: [{t.reference}] more", sender=f"old{n}@example.org")
        for n, t in enumerate(answered)
    ]
    raws += [make_mail(subject=f"New {n}", sender=f"new{n}@example.org") for n in range(3)]
    ids = store(raws, enqueue=False)
    with CaptureQueriesContext(connection) as captured:
        inbound_process_many(ids)
    sql = [q["sql"] for q in captured]
    selects = [i for i, s in enumerate(sql) if s.startswith('SELECT "tickets_ticket"')]
    locks = [i for i in selects if "FOR NO KEY UPDATE" in sql[i]]
    opened = [i for i, s in enumerate(sql) if s.startswith('INSERT INTO "tickets_ticket"')]
    acknowledged = [i for i, s in enumerate(sql) if s.startswith('INSERT INTO "outbox_')]
    assert locks and opened and acknowledged, sql
    assert min(locks) > max(opened + acknowledged)
    assert Message.objects.filter(ticket__in=answered).count() == 6
    assert Ticket.objects.filter(subject__startswith="New").count() == 3


def test_a_ticket_closed_after_the_lookup_gets_its_follow_up_and_one_acknowledgement(
    departments, anna, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    """A ticket found open by the batch's lookup but closed before its lock (an agent
    closed it in between) gets a follow-up ticket, opened after the batch's other new
    tickets, and the sender's hourly acknowledgement count carries over between them."""
    closed = Ticket.objects.get(
        pk=deliver(make_mail(sender="anna@northwind.example")).message.ticket_id
    )
    ticket_status_set(ticket=closed, status=Status.CLOSED)
    OutgoingMail.objects.all().delete()  # the set-up's acknowledgement
    real_find = processor.find_tickets

    def looked_up_before_the_close(entries):  # the lookup's copy still says open
        matches = real_find(entries)
        for match in matches:
            if match.ticket is not None and match.ticket.pk == closed.pk:
                match.ticket.status = Status.OPEN
        return matches

    monkeypatch.setattr(processor, "find_tickets", looked_up_before_the_close)
    anna_mail = "anna@northwind.example"
    raws = [
        make_mail(subject=f"Re: [{closed.reference}] still broken", sender=anna_mail),
        make_mail(subject="Another thing", sender=anna_mail),
    ]
    reply, other = process(raws, django_capture_on_commit_callbacks)
    follow = reply.message.ticket
    assert reply.status == other.status == InboundStatus.PROCESSED
    assert follow.pk != closed.pk and follow.linked_to_id == closed.pk
    assert reply.message.metadata["follow_up_of"] == closed.reference
    assert other.message.ticket.pk not in (closed.pk, follow.pk)
    assert follow.number > other.message.ticket.number  # opened after the batch's others
    assert sorted(m.to[0] for m in mailoutbox) == [anna_mail] * 2


def test_a_batch_stores_its_attachments_in_an_insert_for_its_new_tickets_and_its_replies(
    departments,
):
    """The attachments of a batch's new tickets are one insert, its replies' another (was
    a save() each); every file is stored with its row, name, type and digest."""
    first = make_mail(subject="Logs", message_id="logs@example.org")
    deliver(first)
    raws = [
        make_mail(
            subject=f"Logs {n}",
            attachments=[(f"log-{n}-{k}.txt", f"line {n} {k}\n".encode(), "text/plain")
                         for k in range(2)],
        )
        for n in range(3)
    ] + [
        make_mail(subject="Re: Logs", headers={"In-Reply-To": "<logs@example.org>"},
                  attachments=[("reply.csv", b"a,b\n1,2\n", "text/csv")]),
    ]  # fmt: skip
    ids = store(raws, enqueue=False)
    with CaptureQueriesContext(connection) as queries:
        inbound_process_many(ids)
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "tickets_attachment"')]
    assert len(inserts) == 2  # 7 attachments
    records = list(InboundRecord.objects.filter(pk__in=ids).order_by("pk"))
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    stored = {
        a.filename: a
        for a in Attachment.objects.filter(message__in=[r.message_id for r in records])
    }
    assert sorted(stored) == sorted(
        [f"log-{n}-{k}.txt" for n in range(3) for k in range(2)] + ["reply.csv"]
    )
    reply = stored["reply.csv"]
    assert reply.message_id == records[3].message_id
    assert reply.message.ticket.messages.count() == 2  # the reply threaded
    assert reply.content_type == "text/csv" and reply.size == 8
    assert reply.file.read() == b"a,b\n1,2\n"
    assert stored["log-2-1.txt"].message_id == records[2].message_id
    assert stored["log-2-1.txt"].sha256 == hashlib.sha256(b"line 2 1\n").hexdigest()


# What a caller reads of a processed record: the outcome and the attempt.
RECORD_FIELDS = ("pk", "status", "error", "attempts", "last_attempt_at", "processed_at")


def as_stored(records: list[InboundRecord]) -> list[tuple[object, ...]]:
    return [(*(getattr(r, f) for f in RECORD_FIELDS), r.message_id) for r in records]


def test_a_batch_hands_back_the_records_it_wrote_as_a_read_back_gives_them(departments):
    """The records returned after a batch are the ones it processed, not read back:
    they equal what the database holds (outcome, attempt, message) for processed,
    failed and ignored mails, a suspect run alone, a record done before and an unknown
    id; only the record done before is read."""
    done_before = store([make_mail(subject="Earlier")], enqueue=False)
    inbound_process_many(done_before)
    raws = [make_mail(subject=f"R{n}") for n in range(3)]
    raws += [b"not a mail", make_mail(subject="News", headers={"List-Id": "<news.example>"})]
    raws.append(make_mail(subject="Tried before"))
    ids = store(raws, enqueue=False)
    InboundRecord.objects.filter(pk=ids[-1]).update(attempts=1)  # died mid-batch once
    asked = [*ids, done_before[0], 10**9]
    with CaptureQueriesContext(connection) as queries:
        records = inbound_process_many(asked)
    assert [r.pk for r in records] == sorted([*ids, done_before[0]])
    fresh = list(InboundRecord.objects.filter(pk__in=asked).order_by("pk"))
    assert as_stored(records) == as_stored(fresh)
    assert [r.status for r in fresh if r.pk in ids] == [InboundStatus.PROCESSED] * 3 + [
        InboundStatus.FAILED,
        InboundStatus.IGNORED,
        InboundStatus.PROCESSED,
    ]
    assert [r.attempts for r in fresh if r.pk in ids] == [1, 1, 1, 1, 1, 2]
    last = queries[-1]["sql"]
    assert last.startswith('SELECT "channels_app_inboundrecord"."id"')  # the one done before
    assert '"channels_app_inboundrecord"."raw"' not in last
    handed = {r.pk: r for r in records}
    assert all(bytes(handed[pk].raw) == raw for pk, raw in zip(ids, raws, strict=True))


def test_a_fresh_batch_is_claimed_in_one_statement(departments):
    """The first attempt of a batch's fresh records is counted by one UPDATE that returns
    them (no read of their attempts, no locking read before it), committed before the
    batch; records another process claimed meanwhile are not claimed again."""
    ids = store([make_mail(subject=f"C{n}") for n in range(4)], enqueue=False)
    InboundRecord.objects.filter(pk=ids[0]).update(attempts=1)  # claimed by another worker
    with CaptureQueriesContext(connection) as queries:
        inbound_process_many(ids)
    sql = [q["sql"] for q in queries]
    on_records = [s for s in sql if '"channels_app_inboundrecord"' in s]
    assert on_records[0].startswith('UPDATE "channels_app_inboundrecord" SET "attempts" = 1')
    assert "RETURNING" in on_records[0]
    # Then the one left: its attempts read, counted again and processed alone.
    assert on_records[1].startswith('SELECT "channels_app_inboundrecord"."id"')
    records = InboundRecord.objects.filter(pk__in=ids).order_by("pk")
    assert [r.attempts for r in records] == [2, 1, 1, 1]
    assert {r.status for r in records} == {InboundStatus.PROCESSED}
    assert all(r.last_attempt_at is not None for r in records)


def test_a_batch_whose_attempts_are_spent_is_not_claimed(departments, settings):
    """With no attempts allowed, the claim takes nothing: each record fails as one at a
    time does, without being tried."""
    settings.SUPPORTDESK_INBOUND_MAX_ATTEMPTS = 0
    ids = store([make_mail(subject=f"S{n}") for n in range(2)], enqueue=False)
    records = inbound_process_many(ids)
    assert [(r.status, r.attempts, r.message_id) for r in records] == [
        (InboundStatus.FAILED, 0, None)
    ] * 2
    assert all(r.error.startswith("Processing was started 0 times") for r in records)
