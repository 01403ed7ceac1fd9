"""What the ticket page's side panel shows: customer, account, verification, the
customer's other open tickets, SLA targets with the why, duplicate flags, links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sla.models import TicketSla
from sla.selectors import TargetStatus, target_statuses
from tickets.models import Ticket

from . import reads

OTHER_TICKETS = 10
FLAGS = 10  # duplicate flags shown


def other_open_tickets(ticket: Ticket) -> list[reads.OtherTicket]:
    """Return the contact's other unsolved tickets (soonest deadline first), bounded."""
    return reads.other_open_tickets(ticket, OTHER_TICKETS)


def sla_panel(ticket: Ticket, now: datetime) -> dict[str, Any] | None:
    """Return the ticket's SLA targets (state, due in the calendar's zone, business time
    left) and the explanation of where they come from."""
    return sla_panel_of(reads.ticket_sla(ticket), ticket, now)


def sla_panel_of(sla: TicketSla | None, ticket: Ticket, now: datetime) -> dict[str, Any] | None:
    """``sla_panel`` of the ticket's SLA clocks read already (with their calendar)."""
    if sla is None:
        return None
    statuses: list[TargetStatus] = target_statuses(sla, now)
    explanation = sla.explanation or {}
    match = explanation.get("match") or {}
    return {
        "targets": [s for s in statuses if s.state != "none"],
        # Which policy applies and why (sla.explain): the line, the policy's criteria the
        # ticket met, the other policies that matched and why they lost, or a warning.
        "line": explanation.get("line") or (str(ticket.line) if ticket.line_id else ""),
        "policy": explanation.get("policy"),
        "why": match.get("why", ""),
        "also_matched": match.get("also_matched") or [],
        "warning": explanation.get("warning", ""),
        "summaries": [s.summary for s in statuses if s.summary],
        "calendar": explanation.get("calendar"),
        "zone": explanation.get("time_zone"),
        "escalations": explanation.get("escalations") or [],
        "notes": {
            name: info.get("notes") or []
            for name, info in (explanation.get("targets") or {}).items()
        },
        "explanation": explanation,
        "paused": sla.paused,
    }


def duplicate_flags(ticket: Ticket) -> list[reads.FlagView]:
    """Return the open flags naming this ticket on either side, best score first."""
    return reads.duplicate_flags(ticket, FLAGS)
