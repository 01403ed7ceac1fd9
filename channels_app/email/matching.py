"""Find the ticket a mail belongs to: subject token first, then In-Reply-To/References."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from outbox.selectors import ticket_ids_by_sent_message_ids
from tickets.models import Channel, Contact, Ticket
from tickets.selectors import ticket_ids_by_external_ids
from tickets.text import subject_token

from .parsing import ParsedEmail
from .senders import sender_belongs_to
from .threading_keys import reference_ids


@dataclass(frozen=True)
class TicketMatch:
    """The ticket the mail continues (``ticket``), how it was found (``via``), and a
    ticket whose token it quoted without being allowed to join it (``quarantined_from``)."""

    ticket: Ticket | None = None
    via: str = ""
    quarantined_from: Ticket | None = None


def find_ticket(parsed: ParsedEmail, sender_email: str) -> TicketMatch:
    """Return the ticket this mail continues, if any.

    A subject token or a reply header joins the ticket only if the sender belongs to it:
    anyone can type a ticket number, and a Message-ID leaks with every forwarded or
    quoted mail, so a stranger's mail is quarantined instead (a new ticket linked to it).
    """
    return find_tickets([(parsed, sender_email, None)])[0]


def find_tickets(
    mails: Sequence[tuple[ParsedEmail, str, Sequence[Contact] | None]],
) -> list[TicketMatch]:
    """``find_ticket`` for many (mail, sender address, sender's contacts or None): a few
    queries for the whole batch (tokens, stored and sent Message-IDs, their tickets)."""
    prefix = settings.SUPPORTDESK_TICKET_PREFIX
    numbers = [subject_token(parsed.subject, prefix) for parsed, _, _ in mails]
    by_number = _tickets_by_number({int(n) for n in numbers if n})
    id_lists = [reference_ids(parsed)[:50] for parsed, _, _ in mails]
    by_message_id = _tickets_by_message_ids({i for ids in id_lists for i in ids})
    matches = []
    for (_, email, contacts), number, ids in zip(mails, numbers, id_lists, strict=True):
        quarantined = None
        ticket = by_number.get(int(number)) if number else None
        if ticket is not None:
            if sender_belongs_to(ticket, email, contacts):
                matches.append(TicketMatch(ticket, "token"))
                continue
            quarantined = ticket
        # ordered: In-Reply-To first, then References newest first
        found = next((by_message_id[i] for i in ids if i in by_message_id), None)
        if found is not None and sender_belongs_to(found, email, contacts):
            matches.append(TicketMatch(found, "headers"))
        else:
            matches.append(TicketMatch(quarantined_from=quarantined or found))
    return matches


def ticket_by_message_ids(ids: list[str]) -> Ticket | None:
    """Return the ticket of the newest of ``ids`` we stored or sent (merges followed)."""
    ids = ids[:50]
    found = _tickets_by_message_ids(set(ids))
    return next((found[i] for i in ids if i in found), None)


def _tickets_by_number(numbers: set[int]) -> dict[int, Ticket]:
    if not numbers:
        return {}
    rows = Ticket.objects.select_related("merged_into").filter(number__in=numbers)
    return {t.number: t.merged_into or t for t in rows}  # merged_into read with the row


def _tickets_by_message_ids(ids: set[str]) -> dict[str, Ticket]:
    """Map each of ``ids`` we stored or sent to its ticket (a merged one to its survivor;
    merges keep pointers flat, so one hop is enough)."""
    if not ids:
        return {}
    ticket_ids = ticket_ids_by_sent_message_ids(ids)
    # A stored message wins over a sent one with the same id.
    ticket_ids.update(ticket_ids_by_external_ids(Channel.EMAIL, ids))
    tickets = Ticket.objects.select_related("merged_into").in_bulk(set(ticket_ids.values()))
    out = {}
    for message_id, ticket_id in ticket_ids.items():
        if (ticket := tickets.get(ticket_id)) is not None:
            out[message_id] = ticket.merged_into or ticket
    return out
