"""The deadlines an intake stores in its own transaction equal the full recompute's, field
for field (explanation included), whether they were computed from what the intake held
(a ticket it just opened) or read back (replies, pauses, a ticket answered in the same
batch, a row stored meanwhile)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.inbound import inbound_process_many, inbound_store_many
from sla.calendar_store import calendar_bump
from sla.intake import event_marks, intake_sla_store
from sla.models import BusinessCalendar, CalendarException, TicketSla
from sla.services import HistoryRows, SlaLookups, ticket_sla_fields, with_related
from tests.channels_app.mail_helpers import SUPPORT, TECH, make_mail
from tickets.models import Channel, Department, Message, Status, Ticket
from tickets.services import MessageIn, message_add, ticket_open, ticket_status_set

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # 10:30 in Moscow, 08:30 in Amsterdam
# Reading the tickets, their history or SLA rows back; a lock on SLA rows.
READ_BACK = ('FROM "tickets_message"', 'FROM "tickets_ticket"', 'FROM "sla_slaalert"')


def intake(raws: list[bytes], at: datetime, seen: list[str] | None = None) -> list[Message]:
    """Store the mails and process them as one batch at ``at``, as the worker does; the
    statements of the processing go to ``seen``."""
    with time_machine.travel(at, tick=False):
        stored = inbound_store_many(channel=Channel.EMAIL, source="t", raws=raws, enqueue=False)
        with CaptureQueriesContext(connection) as queries:
            records = inbound_process_many([r.pk for r, _ in stored])
        (seen if seen is not None else []).extend(q["sql"] for q in queries.captured_queries)
    return [Message.objects.get(pk=r.message_id) for r in records if r.message_id]


def full(pk: int, now: datetime) -> dict[str, Any]:
    """The fields the full recompute gives the ticket at ``now`` (everything read back)."""
    ticket = with_related(Ticket.objects.in_bulk([pk]))[pk]
    rows = HistoryRows.load([pk])
    fields = ticket_sla_fields(ticket, now, SlaLookups.load(), rows)
    fields["computed_from_event"] = rows.latest_event[pk]
    return _comparable(fields)


def stored(pk: int) -> dict[str, Any]:
    row = TicketSla.objects.get(pk=pk)
    names = [f.name for f in TicketSla._meta.concrete_fields if f.name not in ("ticket",)]
    return _comparable({name: getattr(row, name) for name in names if name != "computed_at"})


def _comparable(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for name in ("policy", "calendar"):
        value = out.pop(name)
        out[f"{name}_id"] = value if isinstance(value, int | None) else value.pk
    out["explanation"] = json.loads(json.dumps(out["explanation"]))  # as stored
    return out


def assert_as_full(messages: list[Message], now: datetime) -> None:
    for pk in {m.ticket_id for m in messages}:
        assert stored(pk) == full(pk, now), f"ticket {pk}"


def test_new_tickets_are_computed_from_the_intake_without_reading_back(presets):
    raws = [make_mail(subject=f"new {n}", to=(SUPPORT, TECH)[n % 2]) for n in range(6)]
    seen: list[str] = []
    messages = intake(raws, MONDAY, seen)
    assert len({m.ticket_id for m in messages}) == 6
    assert_as_full(messages, MONDAY)
    sla_part = _from_event_marks(seen)
    assert not [q for q in sla_part if any(r in q for r in READ_BACK)]
    assert not [q for q in sla_part if "FOR UPDATE" in q and "sla_ticketsla" in q]


def _from_event_marks(sqls: list[str]) -> list[str]:
    """The statements from the SLA store's one read of the tickets' events on."""
    starts = [i for i, sql in enumerate(sqls) if '"tickets_ticketevent"' in sql and "COUNT(" in sql]
    assert len(starts) == 1, "the intake read its tickets' events once"
    return sqls[starts[0] :]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    at=st.datetimes(
        min_value=datetime(2026, 12, 24),  # noqa: DTZ001 - naive bounds, zone given
        max_value=datetime(2027, 1, 12),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    to=st.sampled_from([SUPPORT, TECH]),
    urgent=st.booleans(),
)
def test_a_new_ticket_any_day_equals_the_full_recompute(presets, at, to, urgent):
    """Weekdays, nights, weekends and the Russian New Year holidays."""
    headers = {"X-Priority": "1 (Highest)", "Importance": "high"} if urgent else {}
    messages = intake([make_mail(subject="outage", to=to, headers=headers)], at)
    assert_as_full(messages, at)


def test_a_reply_after_an_agent_reply_takes_the_full_way_and_agrees(presets, agent):
    (first,) = intake([make_mail(subject="question", message_id="q@example.org")], MONDAY)
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        message_add(
            ticket=first.ticket,
            message=MessageIn(
                channel="email", direction="outbound", body_text="on it", author_user=agent
            ),
        )
    reply = make_mail(subject="Re: question", headers=_answering("q@example.org"))
    later = MONDAY + timedelta(hours=3)
    messages = intake([reply, make_mail(subject="other")], later)
    assert first.ticket_id in {m.ticket_id for m in messages}
    assert not event_marks([first.ticket_id])[first.ticket_id].opening_only
    assert_as_full(messages, later)
    row = TicketSla.objects.get(pk=first.ticket_id)
    assert row.first_response_state == "met" and row.next_response_state == "running"


def test_a_customer_reply_resumes_a_paused_ticket_and_agrees(presets, agent):
    (first,) = intake([make_mail(subject="waiting", to=TECH, message_id="w@example.org")], MONDAY)
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        ticket_status_set(ticket=first.ticket, status=Status.PENDING_CUSTOMER, actor=agent)
    later = MONDAY + timedelta(days=1)
    reply = make_mail(subject="Re: waiting", to=TECH, headers=_answering("w@example.org"))
    messages = intake([reply], later)
    assert [m.ticket_id for m in messages] == [first.ticket_id]
    assert_as_full(messages, later)
    row = TicketSla.objects.get(pk=first.ticket_id)
    assert not row.paused and row.explanation["targets"]["resolution"]["pauses"]


def test_a_mixed_batch_reads_accounts_lines_and_departments_once(presets, agent):
    (first,) = intake([make_mail(subject="earlier", message_id="e@example.org")], MONDAY)
    reply = make_mail(subject="Re: earlier", headers=_answering("e@example.org"))
    seen: list[str] = []
    later = MONDAY + timedelta(hours=1)
    messages = intake([reply, make_mail(subject="fresh"), make_mail(subject="new")], later, seen)
    assert len({m.ticket_id for m in messages}) == 3
    assert_as_full(messages, later)
    sla_part = _from_event_marks(seen)
    for table in ("tickets_account", "tickets_supportline", "tickets_department"):
        assert len([q for q in sla_part if f'FROM "{table}"' in q]) <= 1, table


def test_a_ticket_answered_in_its_own_batch_agrees(presets):
    first = make_mail(subject="twice", message_id="first@example.org")
    second = make_mail(
        subject="Re: twice",
        headers={"In-Reply-To": "<first@example.org>", "References": "<first@example.org>"},
    )
    messages = intake([first, second], MONDAY)
    assert len(messages) == 2 and messages[0].ticket_id == messages[1].ticket_id
    assert_as_full(messages, MONDAY)


def test_a_holiday_and_a_calendar_change_are_in_the_deadlines_and_the_explanation(presets):
    calendar = BusinessCalendar.objects.get(slug="moscow-customer")
    CalendarException.objects.create(
        calendar=calendar, date=date(2026, 11, 24), kind="closed", name="Desk party"
    )
    calendar_bump(calendar)
    evening = MONDAY.replace(hour=13, minute=30)  # 16:30 in Moscow, half an hour left
    messages = intake([make_mail(subject="before the party")], evening)
    row = TicketSla.objects.get(pk=messages[0].ticket_id)
    assert row.calendar == calendar
    assert_as_full(messages, evening)
    days = row.explanation["targets"]["first_response"]["days"]
    assert {"date": "2026-11-24", "hours": "closed", "why": "Desk party"}.items() <= _day(
        days, "2026-11-24"
    ).items()
    assert row.first_response_due.astimezone(UTC).date() == date(2026, 11, 25)


def test_a_row_stored_meanwhile_sends_the_ticket_the_full_way(presets):
    department = Department.objects.get(slug="customer-support")
    with time_machine.travel(MONDAY, tick=False):
        result = ticket_open(
            subject="raced",
            department=department,
            message=MessageIn(channel="email", body_text="help"),
        )
    TicketSla.objects.create(ticket_id=result.ticket.pk)  # blank: another recompute's
    later = MONDAY + timedelta(hours=2)
    out = intake_sla_store([result.message], now=later)
    assert out == {result.ticket.pk: event_marks([result.ticket.pk])[result.ticket.pk].latest}
    assert stored(result.ticket.pk) == full(result.ticket.pk, later)


def test_the_intakes_objects_are_left_as_they_were(presets):
    department = Department.objects.get(slug="technical-support")
    with time_machine.travel(MONDAY, tick=False):
        result = ticket_open(
            subject="untouched",
            department=department,
            message=MessageIn(channel="email", body_text="help"),
        )
    ticket = result.message.ticket
    before = dict(ticket.__dict__), dict(ticket._state.fields_cache)
    intake_sla_store([result.message], now=MONDAY)
    assert (dict(ticket.__dict__), dict(ticket._state.fields_cache)) == before


def _answering(message_id: str) -> dict[str, str]:
    return {"In-Reply-To": f"<{message_id}>", "References": f"<{message_id}>"}


def _day(days: list[dict[str, Any]], iso: str) -> dict[str, Any]:
    return next(d for d in days if d["date"] == iso)
