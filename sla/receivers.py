"""Recompute SLA clocks whenever tickets change (tickets.signals.ticket_events)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from tickets.signals import TicketEventRef, ticket_events

log = logging.getLogger(__name__)

# Events that cannot move a clock. `created` is always committed together with the first
# message's `message_added` (ticket_open), whose task sees both; assignment and a
# verified sender are no input.
IGNORED_KINDS = frozenset({"created", "assigned", "sender_verified"})


@receiver(ticket_events, dispatch_uid="sla.recompute_on_ticket_events")
def recompute_on_ticket_events(sender: Any, events: list[TicketEventRef], **kwargs: Any) -> None:
    """Queue one recompute task for every ticket whose clocks the committed events move."""
    ticket_ids = sorted({e.ticket_id for e in events if _moves_clocks(e)})
    if not ticket_ids:
        return
    from .tasks import recompute_tickets

    try:
        recompute_tickets.delay(ticket_ids)
    except Exception:  # broker down: the ticket change stands; the next event recomputes
        log.exception("could not queue the SLA recompute of tickets %s", ticket_ids)


def _moves_clocks(event: TicketEventRef) -> bool:
    # An internal note (an agent's, a bounce, an out-of-office) answers nobody.
    if event.kind == "message_added" and event.data.get("direction") == "internal":
        return False
    return event.kind not in IGNORED_KINDS
