"""Recording what happened to a ticket, and announcing it once the change commits."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from .models import Ticket, TicketEvent
from .signals import ticket_event


def record_event(
    ticket: Ticket, kind: str, actor: AbstractBaseUser | None, **data: Any
) -> TicketEvent:
    """Store a TicketEvent and send ``ticket_event`` after the transaction commits."""
    event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data)
    ticket_id, event_id = ticket.pk, event.pk
    transaction.on_commit(
        lambda: ticket_event.send(sender=Ticket, ticket_id=ticket_id, event_id=event_id, kind=kind)
    )
    return event
