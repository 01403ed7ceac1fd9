"""Find the ticket a mail belongs to: subject token first, then In-Reply-To/References."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from tickets.models import Channel, Message, Ticket
from tickets.selectors import ticket_by_reference

from ..models import OutboundEmail
from .parsing import ParsedEmail
from .senders import sender_belongs_to
from .threading_keys import extract_ticket_number, reference_ids


@dataclass(frozen=True)
class TicketMatch:
    """The ticket the mail continues (``ticket``), how it was found (``via``), and a
    ticket whose token it quoted without being allowed to join it (``quarantined_from``)."""

    ticket: Ticket | None = None
    via: str = ""
    quarantined_from: Ticket | None = None


def find_ticket(parsed: ParsedEmail, sender_email: str) -> TicketMatch:
    """Return the ticket this mail continues, if any.

    A subject token joins the ticket only if the sender belongs to it: anyone can type a
    ticket number, so a stranger's mail is quarantined instead (a new ticket linked to
    it). Message-IDs are not guessable, so a header match needs no such check.
    """
    prefix = settings.SUPPORTDESK_TICKET_PREFIX
    quarantined = None
    if number := extract_ticket_number(parsed.subject, prefix):
        ticket = ticket_by_reference(number)
        if ticket is not None:
            if sender_belongs_to(ticket, sender_email):
                return TicketMatch(ticket, "token")
            quarantined = ticket
    if ticket := ticket_by_message_ids(reference_ids(parsed)):
        return TicketMatch(ticket, "headers")
    return TicketMatch(quarantined_from=quarantined)


def ticket_by_message_ids(ids: list[str]) -> Ticket | None:
    """Return the ticket of the newest of ``ids`` we stored or sent (merges followed)."""
    if not ids:
        return None
    ids = ids[:50]
    stored = dict(
        Message.objects.filter(channel=Channel.EMAIL, external_id__in=ids).values_list(
            "external_id", "ticket_id"
        )
    )
    sent = dict(
        OutboundEmail.objects.filter(message_id__in=ids).values_list("message_id", "ticket_id")
    )
    for message_id in ids:  # ordered: In-Reply-To first, then References newest first
        ticket_id = stored.get(message_id) or sent.get(message_id)
        if ticket_id is not None:
            ticket = Ticket.objects.select_related("merged_into").get(pk=ticket_id)
            return ticket.merged_into if ticket.merged_into_id else ticket
    return None
