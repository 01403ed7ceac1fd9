"""What a signed-in contact may see: its own tickets, or its account's for owners."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.urls import reverse

from tickets.models import Channel, Contact, ContactRole, Message, Status, Ticket
from tickets.selectors import ticket_list, ticket_timeline


def portal_tickets(contact: Contact) -> QuerySet[Ticket]:
    """Return the tickets ``contact`` may see (never another account's)."""
    visible = Q(contact=contact)
    if contact.role == ContactRole.OWNER and contact.is_verified and contact.account_id:
        visible |= Q(account_id=contact.account_id)
    return ticket_list().filter(visible).exclude(status=Status.MERGED)


PAGE_SIZE = 50


def portal_ticket_page(
    contact: Contact, *, before: str | None = None
) -> tuple[list[dict[str, object]], bool]:
    """Return one page of list rows (newest first) and whether older tickets follow.

    Keyset paging on (updated_at, id): ``before`` is the last row's ``cursor``. Rows are
    plain strings so the template renders 50 of them without a URL reverse per row.
    """
    qs = (
        portal_tickets(contact)
        .select_related(None)
        .select_related("department")
        .only("number", "subject", "status", "updated_at", "department__name")
        .order_by("-updated_at", "-id")
    )
    if before:
        stamp, _, pk = before.rpartition("_")
        try:
            when = datetime.fromisoformat(stamp)
            qs = qs.filter(Q(updated_at__lt=when) | Q(updated_at=when, id__lt=int(pk)))
        except ValueError:
            pass  # a mangled cursor shows the first page
    tickets = list(qs[: PAGE_SIZE + 1])
    base = reverse("portal:ticket", args=[0]).removesuffix("0/")
    labels = dict(Status.choices)
    rows = [
        {
            "url": f"{base}{t.number}/",
            "reference": t.reference,
            "subject": t.subject,
            "status": labels.get(t.status, t.status),
            "department": t.department.name,
            "updated": t.updated_at.strftime("%Y-%m-%d %H:%M"),
            "cursor": f"{t.updated_at.isoformat()}_{t.pk}",
        }
        for t in tickets[:PAGE_SIZE]
    ]
    return rows, len(tickets) > PAGE_SIZE


def portal_ticket(contact: Contact, number: int) -> Ticket | None:
    """Return the ticket with ``number`` if ``contact`` may see it."""
    return portal_tickets(contact).filter(number=number).first()


def portal_timeline(ticket: Ticket) -> list[Message]:
    """Return the customer-visible timeline: everything but internal notes."""
    return [m for m in ticket_timeline(ticket) if m.channel != Channel.NOTE]
