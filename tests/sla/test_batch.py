"""Recomputing many tickets at once gives each the clocks it gets alone, in a fixed
number of queries."""

from __future__ import annotations

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
