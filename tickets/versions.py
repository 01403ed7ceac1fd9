"""Optimistic versions of a ticket: a change based on an outdated page is refused.

A ticket's version is the id of its latest TicketEvent. Every change (a message, a
status, an assignment, a merge…) records one, so a form that carries the version it was
rendered from can be checked against the ticket under its row lock.
Re-exported by ``tickets.services``.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from .errors import StaleTicket, TransactionRequired
from .models import Ticket, TicketEvent


def ticket_version(ticket_id: int) -> int:
    """Return the ticket's current version (0 for a ticket without events)."""
    found = TicketEvent.objects.filter(ticket_id=ticket_id).aggregate(v=Max("pk"))["v"]
    return found or 0


def ticket_version_check(*, ticket: Ticket, version: int) -> Ticket:
    """Lock the ticket and raise StaleTicket if it changed after ``version``.

    Call it inside the transaction that makes the change: the row lock held until the
    commit means no other change can slip in between the check and the write.
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionRequired("ticket_version_check must run inside transaction.atomic().")
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    newer = list(
        TicketEvent.objects.filter(ticket_id=locked.pk, pk__gt=version)
        .select_related("actor")
        .order_by("pk")[:20]
    )
    if newer:
        raise StaleTicket(
            f"{locked.reference} changed after you opened it ({len(newer)} change"
            f"{'s' if len(newer) != 1 else ''}); nothing was sent or changed. Read what "
            "happened, then try again.",
            newer,
        )
    return locked
