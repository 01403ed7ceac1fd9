"""Recomputing many tickets at once gives each the clocks it gets alone, in a fixed
number of queries."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla.models import TicketSla
from sla.services import ticket_sla_recompute, tickets_sla_recompute
from tickets.models import Department, Ticket
from tickets.services import MessageIn, message_add, ticket_open

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("Europe/Moscow"))
# A statement that writes SLA rows (the batch UPDATE starts WITH v(…) AS (VALUES …)).
WRITES = re.compile(r'((INSERT (OR IGNORE )?INTO|UPDATE) "sla_ticketsla")')
FIELDS = ["first_response_due", "resolution_due", "next_check_at", "paused", "started_at"]


def tickets(count: int, slug: str) -> list[int]:
    department = Department.objects.get(slug=slug)
    ids = []
    for n in range(count):
        ticket = ticket_open(
            subject=f"{slug} {n}",
            department=department,
            message=MessageIn(channel="email", body_text="help", occurred_at=NOW),
        ).ticket
        if n % 2:
            message_add(ticket=ticket, message=MessageIn(channel="email", body_text="more"))
        ids.append(ticket.pk)
    return ids


def test_batch_equals_one_at_a_time(presets):
    ids = tickets(4, "technical-support") + tickets(4, "customer-support")
    tickets_sla_recompute(ids, now=NOW)
    batch = {s.ticket_id: [getattr(s, f) for f in FIELDS] for s in TicketSla.objects.all()}
    assert sorted(batch) == sorted(ids)
    TicketSla.objects.all().delete()
    for pk in ids:
        ticket_sla_recompute(pk, now=NOW)
    alone = {s.ticket_id: [getattr(s, f) for f in FIELDS] for s in TicketSla.objects.all()}
    assert alone == batch
    assert len({tuple(v) for v in batch.values()}) > 1  # the departments' clocks differ


def test_a_batch_costs_the_same_queries_for_five_or_twenty_tickets(presets):
    def queries(count: int) -> tuple[int, int]:
        ids = tickets(count, "technical-support")
        with CaptureQueriesContext(connection) as created:
            tickets_sla_recompute(ids, now=NOW)
        for pk in ids:  # an agent answers: every row needs an update next time
            answer = MessageIn(channel="email", direction="outbound", body_text="on it")
            message_add(ticket=Ticket.objects.get(pk=pk), message=answer)
        with CaptureQueriesContext(connection) as updated:
            tickets_sla_recompute(ids, now=NOW)
        # The changed rows are written together: was one UPDATE per row (count more).
        return len(created), len(updated)

    queries(1)  # builds the calendar math, which the process then keeps
    assert queries(5) == queries(20)


def test_new_tickets_rows_are_inserted_computed_in_one_statement(presets):
    """Tickets without an SLA row get theirs in one INSERT of the computed values (was a
    blank row per ticket inserted, then every one of them updated)."""
    ids = tickets(6, "technical-support")
    with CaptureQueriesContext(connection) as captured:
        out = tickets_sla_recompute(ids, now=NOW)
    writes = [m[0] for q in captured for m in WRITES.findall(q["sql"])]
    assert writes == ['INSERT INTO "sla_ticketsla"']
    stored = {s.ticket_id: s for s in TicketSla.objects.filter(ticket_id__in=ids)}
    assert sorted(stored) == sorted(ids)
    for pk in ids:
        assert stored[pk].explanation and stored[pk].first_response_due is not None
        assert [getattr(stored[pk], f) for f in FIELDS] == [getattr(out[pk], f) for f in FIELDS]
        assert stored[pk].computed_from_event is not None
    with CaptureQueriesContext(connection) as again:  # nothing moved: nothing written
        tickets_sla_recompute(ids, now=NOW)
    assert not [q for q in again if WRITES.search(q["sql"])]


def test_a_row_stored_meanwhile_is_recomputed_under_its_lock(presets, monkeypatch):
    """When another recompute stores a ticket's row between this one's lock and its
    insert, the insert leaves that row alone and this recompute runs again on it."""
    from sla import services

    ids = tickets(2, "technical-support")
    TicketSla.objects.create(ticket_id=ids[0])  # what the other recompute left: blank
    real = services._lock_rows
    calls = []

    def first_misses(wanted: list[int]):  # the first lock ran before the other's commit
        calls.append(wanted)
        return {} if len(calls) == 1 else real(wanted)

    monkeypatch.setattr(services, "_lock_rows", first_misses)
    out = tickets_sla_recompute(ids, now=NOW)
    assert calls == [ids, [ids[0]]]
    row = TicketSla.objects.get(ticket_id=ids[0])
    assert row.explanation and row.first_response_due == out[ids[0]].first_response_due
    assert TicketSla.objects.get(ticket_id=ids[1]).explanation
