"""Recompute a ticket's SLA clocks whenever the ticket changes (tickets.signals)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from tickets.signals import ticket_event

log = logging.getLogger(__name__)

# Events that cannot move a clock. `created` is always committed together with the first
# message's `message_added` (ticket_open), whose task sees both; assignment is no input.
IGNORED_KINDS = frozenset({"created", "assigned"})


@receiver(ticket_event, dispatch_uid="sla.recompute_on_ticket_event")
def recompute_on_ticket_event(sender: Any, ticket_id: int, kind: str = "", **kwargs: Any) -> None:
    """Queue a recompute of the ticket after the current transaction (if any) commits."""
    if kind in IGNORED_KINDS:
        return
    from .tasks import recompute_ticket

    def enqueue() -> None:
        try:
            recompute_ticket.delay(ticket_id)
        except Exception:  # broker down: the ticket change stands; the next event recomputes
            log.exception("could not queue the SLA recompute of ticket %s", ticket_id)

    transaction.on_commit(enqueue)
