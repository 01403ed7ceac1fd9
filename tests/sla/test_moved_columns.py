"""A stored SLA row is updated in the columns that moved (and its explanation), and what
is stored then equals the full computation, field for field, whatever happened to the
ticket in between."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.models import TicketSla
from sla.services import HistoryRows, SlaLookups, ticket_sla_fields, tickets_sla_recompute
from tickets.models import Department, Status, Ticket
from tickets.services import MessageIn, message_add, ticket_open, ticket_status_set
from tickets.status import can_move

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
UPDATE = re.compile(r"WITH v\((.*?)\) AS \(VALUES", re.S)
STEPS = ["customer", "agent", "pending", "open", "solved", "nothing"]


def open_tickets(count: int, at: datetime) -> list[Ticket]:
    out = []
    with time_machine.travel(at, tick=False):
        for n in range(count):
            slug = ("technical-support", "customer-support")[n % 2]
            out.append(
                ticket_open(
                    subject=f"ticket {n}",
                    department=Department.objects.get(slug=slug),
                    message=MessageIn(channel="email", body_text="help", occurred_at=at),
                ).ticket
            )
    return out


def act(ticket: Ticket, step: str, agent: Any, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        ticket.refresh_from_db()
        if step in ("customer", "agent"):
            direction = "inbound" if step == "customer" else "outbound"
            author = {"author_user": agent} if step == "agent" else {}
            message = MessageIn(channel="email", direction=direction, body_text="…", **author)
            message_add(ticket=ticket, message=message)
        elif step != "nothing":
            status = {"pending": Status.PENDING_CUSTOMER, "open": Status.OPEN}.get(step, step)
            if can_move(ticket.status, status):  # else the step does nothing
                ticket_status_set(ticket=ticket, status=status, actor=agent)


def full(pk: int, now: datetime) -> dict[str, Any]:
    ticket = Ticket.objects.get(pk=pk)
    rows = HistoryRows.load([pk])
    fields = ticket_sla_fields(ticket, now, SlaLookups.load(), rows)
    fields["computed_from_event"] = rows.latest_event[pk]
    for name in ("policy", "calendar"):
        value = fields.pop(name)
        fields[f"{name}_id"] = value.pk if value is not None else None
    fields["explanation"] = json.loads(json.dumps(fields["explanation"]))
    return fields


def stored(pk: int) -> dict[str, Any]:
    row = TicketSla.objects.get(pk=pk)
    return {
        f.attname: getattr(row, f.attname)
        for f in TicketSla._meta.concrete_fields
        if f.attname not in ("ticket_id", "computed_at")
    }


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rounds=st.lists(
        st.tuples(
            st.lists(st.sampled_from(STEPS), min_size=3, max_size=3),
            st.integers(min_value=0, max_value=60),  # hours until the next recompute
        ),
        min_size=1,
        max_size=4,
    )
)
def test_updated_rows_equal_the_full_computation(presets, agent, rounds):
    """Replies, answers, pauses and solves between recomputes of a batch: each stored row
    equals the fields computed from scratch, with only the moved columns written."""
    tickets = open_tickets(3, MONDAY)
    ids = [t.pk for t in tickets]
    now = MONDAY
    tickets_sla_recompute(ids, now=now)
    for steps, hours in rounds:
        for ticket, step in zip(tickets, steps, strict=True):
            act(ticket, step, agent, now + timedelta(minutes=5))
        now += timedelta(hours=hours, minutes=10)
        tickets_sla_recompute(ids, now=now)
        for pk in ids:
            assert stored(pk) == full(pk, now), f"ticket {pk}"


def test_a_reply_writes_the_columns_it_moved(presets, agent):
    """A customer's reply after an agent's answer moves the next response: the UPDATE
    leaves the policy, the calendar and the first response's columns out."""
    (ticket,) = open_tickets(1, MONDAY)
    act(ticket, "agent", agent, MONDAY + timedelta(minutes=30))
    tickets_sla_recompute([ticket.pk], now=MONDAY + timedelta(hours=1))
    act(ticket, "customer", agent, MONDAY + timedelta(hours=2))
    later = MONDAY + timedelta(hours=3)
    with CaptureQueriesContext(connection) as queries:
        tickets_sla_recompute([ticket.pk], now=later)
    updates = [m for q in queries.captured_queries if (m := UPDATE.search(q["sql"]))]
    assert len(updates) == 1
    columns = updates[0].group(1)
    assert '"next_response_due"' in columns and '"explanation"' in columns
    for left_out in ('"policy_id"', '"calendar_id"', '"first_response_due"', '"started_at"'):
        assert left_out not in columns
    assert stored(ticket.pk) == full(ticket.pk, later)
    assert TicketSla.objects.get(pk=ticket.pk).next_response_state == "running"
