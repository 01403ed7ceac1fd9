"""Ask about every solve once it has committed (the beat asks about any missed)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from tickets.signals import TicketEventRef, ticket_events

log = logging.getLogger(__name__)


@receiver(ticket_events, dispatch_uid="csat.ask_on_solve")
def ask_on_solve(sender: Any, events: list[TicketEventRef], **kwargs: Any) -> None:
    from .services import solves_of, surveys_ask

    solves = solves_of(events)
    if not solves:
        return
    try:
        surveys_ask(solves)
    except Exception:  # the solve stands; the beat's surveys_ask_missed asks later
        log.exception("could not ask about the solves %s", solves)
