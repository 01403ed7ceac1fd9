"""What the ticket page's side panel shows: customer, account, verification, the
customer's other open tickets, SLA targets with the why, duplicate flags, links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from duplicates.models import DuplicateFlag, FlagStatus
from sla.models import TicketSla
from sla.selectors import TargetStatus, target_statuses
from tickets.models import Ticket

from .models import TicketRow

OTHER_TICKETS = 10


@dataclass(frozen=True)
class FlagView:
    flag: DuplicateFlag
    other: Ticket
    side: str  # "of" (this one may duplicate the other) or "by"


def other_open_tickets(ticket: Ticket) -> list[TicketRow]:
    """Return the contact's other unsolved tickets (newest deadline first), bounded."""
    if ticket.contact_id is None:
        return []
    return list(
        TicketRow.objects.filter(contact_id=ticket.contact_id, unsolved=True)
        .exclude(ticket_id=ticket.pk)
        .order_by("due_sort", "ticket_id")[:OTHER_TICKETS]
    )


def sla_panel(ticket: Ticket, now: datetime) -> dict[str, Any] | None:
    """Return the ticket's SLA targets (state, due in the calendar's zone, business time
    left) and the explanation of where they come from."""
    sla = TicketSla.objects.select_related("policy", "calendar").filter(ticket=ticket).first()
    if sla is None:
        return None
    statuses: list[TargetStatus] = target_statuses(sla, now)
    explanation = sla.explanation or {}
    return {
        "targets": [s for s in statuses if s.state != "none"],
        "policy": explanation.get("policy"),
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


def duplicate_flags(ticket: Ticket) -> list[FlagView]:
    """Return the open flags naming this ticket on either side, best score first."""
    flags = (
        DuplicateFlag.objects.filter(Q(ticket=ticket) | Q(candidate=ticket))
        .filter(status=FlagStatus.SUGGESTED)
        .select_related("ticket", "candidate")
        .order_by("-score", "-id")[:10]
    )
    return [
        FlagView(
            f,
            f.candidate if f.ticket_id == ticket.pk else f.ticket,
            "of" if f.ticket_id == ticket.pk else "by",
        )
        for f in flags
    ]


def contact_addresses(ticket: Ticket) -> dict[str, list[str]]:
    if ticket.contact_id is None:
        return {"emails": [], "phones": []}
    contact = ticket.contact
    return {
        "emails": list(
            contact.emails.order_by("-is_primary", "id").values_list("email", flat=True)
        ),
        "phones": list(contact.phones.values_list("number", flat=True)),
    }
