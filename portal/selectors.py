"""What a signed-in contact may see: its own tickets, or its account's for the account's
owner and registrant (who manage its contacts)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from channels_app.chat.models import ChatConversation
from tickets.models import (
    Channel,
    Contact,
    Message,
    Status,
    Ticket,
    format_reference,
)
from tickets.selectors import ticket_list, ticket_timeline


def portal_tickets(contact: Contact) -> QuerySet[Ticket]:
    """Return the tickets ``contact`` may see (never another account's)."""
    visible = Q(contact=contact)
    if contact.manages_contacts:
        visible |= Q(account_id=contact.account_id)
    return ticket_list().filter(visible).exclude(status=Status.MERGED)


PAGE_SIZE = 50


def portal_ticket_page(
    contact: Contact, *, before: str | None = None
) -> tuple[list[dict[str, str]], bool]:
    """Return one page of list rows (newest first) and whether older tickets follow.

    Keyset paging on (updated_at, id): ``before`` is the last row's ``cursor``. The list is
    the portal's busiest page, so rows come from ``values_list`` (no model instances) and
    are plain strings: the template renders 50 of them without a URL reverse per row.
    """
    qs = portal_tickets(contact).order_by("-updated_at", "-id")
    if before:
        stamp, _, pk = before.rpartition("_")
        try:
            when = datetime.fromisoformat(stamp)
            qs = qs.filter(Q(updated_at__lt=when) | Q(updated_at=when, id__lt=int(pk)))
        except ValueError:
            pass  # a mangled cursor shows the first page
    found = list(
        qs.values_list("id", "number", "subject", "status", "updated_at", "department__name")[
            : PAGE_SIZE + 1
        ]
    )
    base = reverse("portal:ticket", args=[0]).removesuffix("0/")
    labels = dict(Status.choices)
    rows = [
        {
            "url": f"{base}{number}/",
            "reference": format_reference(number),
            "subject": subject,
            "status": str(labels.get(status, status)),
            "department": department,
            "updated": timezone.localtime(updated_at).strftime("%Y-%m-%d %H:%M"),
            "cursor": f"{updated_at.isoformat()}_{pk}",
        }
        for pk, number, subject, status, updated_at, department in found[:PAGE_SIZE]
    ]
    return rows, len(found) > PAGE_SIZE


def portal_ticket(contact: Contact, number: int) -> Ticket | None:
    """Return the ticket with ``number`` if ``contact`` may see it."""
    return portal_tickets(contact).filter(number=number).first()


def portal_timeline(ticket: Ticket) -> list[Message]:
    """Return the customer-visible timeline: everything but internal notes."""
    return [m for m in ticket_timeline(ticket) if m.channel != Channel.NOTE]


def ticket_chats(ticket: Ticket) -> list[ChatConversation]:
    """Return the live chats that fed ``ticket``, live ones first, then newest first.

    A merge moves a chat's lines to the surviving ticket while the conversation keeps
    pointing at the merged one, so the survivor also lists the chats of its merged tickets.
    """
    return list(
        ChatConversation.objects.filter(Q(ticket=ticket) | Q(ticket__merged_into=ticket))
        .select_related("ticket")
        .order_by(F("ended_at").desc(nulls_first=True), "-started_at")
    )
