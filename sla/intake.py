"""The deadlines of an intake's tickets, stored in the intake's own transaction.

A ticket the intake has just opened has the smallest history there is: its ``created``
event and the ``message_added`` of its first message, nothing else. Then what its clocks
replay is exactly what the intake holds in memory (the ticket it inserted, the message it
inserted), and it has no SLA row, alerts or absorbed tickets yet: its deadlines are
computed from those objects, without locking rows or reading the ticket and its history
back (most of the recompute's cost for a batch of new mail). Every other ticket, and one
whose row turns out to exist after all, takes the full recompute
(``services.tickets_sla_recompute``); both give the same fields (tests/sla/test_intake.py).

Why two events prove it: every change of a ticket records an event (a ticket's version
is its newest event, ``tickets.versions``), every message stored on a ticket records a
``message_added`` on it, a merge records ``absorbed`` on the survivor, a status change
``status_changed``. A ticket whose only events are ``created`` and the ``message_added``
of the message the intake holds has had no other message, status, department, severity
or merge, and the object the intake holds for it is the row as stored.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.base import ModelState
from django.utils import timezone

from tickets.models import EventKind, Message, Ticket, TicketEvent

from .ids import ids_in
from .models import TicketSla
from .services import (
    HistoryRows,
    SlaLookups,
    ticket_sla_fields,
    tickets_sla_recompute,
    with_related,
)
from .writes import insert_rows


@dataclass(frozen=True)
class EventMarks:
    """What one query over a ticket's events tells: its newest event (the version its
    deadlines are computed from) and whether its events are just its opening."""

    latest: int
    opening_only: bool


def event_marks(ticket_ids: Iterable[int]) -> dict[int, EventMarks]:
    """Return each ticket's ``EventMarks`` (tickets without events are left out)."""
    rows = (
        TicketEvent.objects.filter(ids_in("ticket_id", ticket_ids))
        .values("ticket_id")
        .annotate(
            latest=Max("id"),
            events=Count("id"),
            created=Count("id", filter=Q(kind=EventKind.CREATED)),
            added=Count("id", filter=Q(kind=EventKind.MESSAGE_ADDED)),
        )
        .values_list("ticket_id", "latest", "events", "created", "added")
    )
    return {
        pk: EventMarks(latest, events == 2 and created == 1 and added == 1)
        for pk, latest, events, created, added in rows
    }


def intake_sla_store(messages: Sequence[Message], *, now: datetime | None = None) -> dict[int, int]:
    """Store the deadlines of the tickets the intake gave ``messages`` (customer messages
    it stored, each with the ticket it holds); return by ticket the newest event they were
    computed from (a ticket deleted meanwhile is left out). Sends no ``deadlines_changed``
    (the intake's own ticket events refresh the same rows)."""
    now = now or timezone.now()
    ids = sorted({m.ticket_id for m in messages})
    lookups = SlaLookups.load()
    marks = event_marks(ids)
    held: dict[int, list[Message]] = {}
    for message in messages:
        held.setdefault(message.ticket_id, []).append(message)
    opened = {
        pk: held[pk][0]
        for pk in ids
        if pk in marks and marks[pk].opening_only and len(held[pk]) == 1 and _as_held(held[pk][0])
    }
    rest = [pk for pk in ids if pk not in opened]
    out: dict[int, int] = {}
    related: dict[Any, dict[int, Any]] = {}  # accounts, lines, departments: read once
    if rest:
        # Read before their rows are locked: an event committed in between is in the
        # history read after the lock but not in ``computed_from_event``, which then names
        # an older event (the scan recomputes such a row first, and that event's own
        # announcement queues a recompute); a row never claims an event it did not read.
        latest = {pk: marks[pk].latest for pk in rest if pk in marks}
        recomputed = tickets_sla_recompute(
            rest, now=now, lookups=lookups, announce=False, latest_event=latest, related=related
        )
        out.update(_covered(recomputed))
    if opened:
        out.update(_store_opened(opened, marks, now, lookups, related))
    return out


def _covered(rows: dict[int, TicketSla | None]) -> dict[int, int]:
    return {
        pk: row.computed_from_event
        for pk, row in rows.items()
        if row is not None and row.computed_from_event is not None
    }


def _as_held(message: Message) -> bool:
    """Whether the message and its ticket carry what the shortcut reads, as stored (aware
    moments: a naive one is made aware, with a warning, only when saved)."""
    ticket = getattr(message, "_state", None) and message._state.fields_cache.get("ticket")
    if not isinstance(ticket, Ticket) or ticket.pk != message.ticket_id:
        return False
    moments = (message.occurred_at, ticket.created_at, ticket.updated_at)
    return all(isinstance(m, datetime) and m.tzinfo is not None for m in moments)


def _store_opened(
    opened: dict[int, Message],
    marks: dict[int, EventMarks],
    now: datetime,
    lookups: SlaLookups,
    related: dict[Any, dict[int, Any]],
) -> dict[int, int]:
    """Compute the deadlines of just-opened tickets from the intake's objects and insert
    them (as values, no model instances); a row another recompute stored first sends its
    ticket the full way."""
    tickets = with_related({pk: _detached(m.ticket) for pk, m in opened.items()}, related)
    history = HistoryRows({}, {}, {}, {}, {})
    for pk, message in opened.items():
        fact = (_utc(message.occurred_at), _plain(message.direction), _plain(message.channel))
        history.messages[pk] = [fact]
        history.latest_event[pk] = marks[pk].latest
    rows: list[dict[str, Any]] = []
    for pk in sorted(opened):
        fields = ticket_sla_fields(tickets[pk], now, lookups, history)
        policy, calendar = fields.pop("policy"), fields.pop("calendar")
        fields.update(
            ticket_id=pk,
            policy_id=policy.pk if policy is not None else None,
            calendar_id=calendar.pk if calendar is not None else None,
            computed_at=now,
            computed_from_event=marks[pk].latest,
        )
        rows.append(fields)
    taken = set(insert_rows(rows))
    out = {pk: marks[pk].latest for pk in opened if pk not in taken}
    if taken:
        redone = tickets_sla_recompute(sorted(taken), now=now, lookups=lookups, announce=False)
        out.update(_covered(redone))
    return out


def _detached(ticket: Ticket) -> Ticket:
    """A copy of the intake's ticket to compute from, as the database would return it:
    its own related-object cache (``with_related`` fills it), plain values instead of
    choice members, moments in UTC. The intake's object is left as it is."""
    copy = Ticket.__new__(Ticket)
    values: dict[str, Any] = {}
    for field in Ticket._meta.concrete_fields:
        values[field.attname] = _plain(getattr(ticket, field.attname))
    copy.__dict__.update(values)
    copy._state = ModelState()
    copy._state.adding, copy._state.db = False, ticket._state.db
    return copy


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return _utc(value)
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
