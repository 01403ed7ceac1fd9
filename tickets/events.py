"""Recording what happened to tickets, and announcing it once the change commits.

Events are announced through ``tickets.signals.ticket_events`` after the commit of the
transaction that stored them (a rolled-back savepoint announces nothing). Inside
``announcements_batched()`` the announcements of every commit are gathered and sent as
one list when the block ends, so a batch of many tickets queues one task per receiver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from . import status as status_rules
from .inserts import insert_rows
from .models import EventKind, Ticket, TicketEvent
from .signals import TicketEventRef, ticket_events

_gathering = threading.local()


def record_event(ticket: Ticket, kind: str, actor: User | None, **data: Any) -> TicketEventRef:
    """Store a TicketEvent and announce it after the transaction commits; return what is
    announced."""
    return record_events([(ticket, kind, actor, data)])[0]


def record_events(
    items: Sequence[tuple[Ticket, str, User | None, dict[str, Any]]],
) -> list[TicketEventRef]:
    """Store several TicketEvents in one insert; announce them together after commit.
    Return what is announced (the events are written as rows: no caller reads them back
    as instances, and building one per event was a tenth of an intake's ticket writes)."""
    rows = [
        {
            "ticket_id": ticket.pk,
            "kind": kind,
            "actor_id": actor.pk if actor is not None else None,
            "data": data,
            "created_at": timezone.now(),  # the field's default, per event as before
        }
        for ticket, kind, actor, data in items
    ]
    ids = insert_rows(TicketEvent, rows)
    refs = [
        TicketEventRef(ticket.pk, pk, kind, data)
        for (ticket, kind, _, data), pk in zip(items, ids, strict=True)
    ]
    if refs:
        transaction.on_commit(lambda: _announce(refs))
    return refs


def record_status_change(
    ticket: Ticket, status: str, actor: User | None, *, reason: str
) -> set[str]:
    """Record a status change on the (locked) ticket and set its timestamps by the rules
    of ``tickets.status``; return the fields changed, which the caller saves."""
    record_event(
        ticket,
        EventKind.STATUS_CHANGED,
        actor,
        previous=ticket.status,
        status=status,
        reason=reason,
    )
    now = timezone.now()
    ticket.status = status
    for name, stamp in status_rules.stamps(status).items():
        setattr(ticket, name, now if stamp == "now" else None)
    return {"status", *status_rules.stamps(status)}


@contextmanager
def announcements_batched() -> Iterator[None]:
    """Gather the announcements committed inside the block; send them as one list at the
    end (also when the block raises: what committed did happen)."""
    if getattr(_gathering, "refs", None) is not None:  # nested: the outer block sends
        yield
        return
    _gathering.refs = []
    try:
        yield
    finally:
        refs, _gathering.refs = _gathering.refs, None
        if refs:
            ticket_events.send(sender=Ticket, events=refs)


def _announce(refs: list[TicketEventRef]) -> None:
    gathered = getattr(_gathering, "refs", None)
    if gathered is not None:
        gathered.extend(refs)
    else:
        ticket_events.send(sender=Ticket, events=refs)
