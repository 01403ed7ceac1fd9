"""E-mails about duplicates: to the agents who own the tickets, and to the customer after
an automatic merge. Sent with Django's e-mail API, after the transaction commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from tickets.models import Ticket

from .models import DuplicateFlag

log = logging.getLogger(__name__)


def tell_assignees(*, flag_ids: list[int]) -> int:
    """E-mail each assignee of a flagged pair once per flag; return the mails sent."""
    sent = 0
    flags = DuplicateFlag.objects.select_related("ticket__assignee", "candidate__assignee").filter(
        pk__in=flag_ids
    )
    for flag in flags:
        recipients = {
            user.email
            for user in (flag.ticket.assignee, flag.candidate.assignee)
            if user is not None and user.email
        }
        if not recipients:
            continue
        subject = f"[{flag.ticket.reference}] possible duplicate of {flag.candidate.reference}"
        body = (
            f'{flag.ticket.reference} "{flag.ticket.subject}" looks like a duplicate of '
            f'{flag.candidate.reference} "{flag.candidate.subject}" '
            f"(score {flag.score:.2f}).\n\nWhy:\n"
            + "\n".join(f"- {reason}" for reason in flag.reasons)
            + "\n\nMerge or dismiss it under Duplicate detection > Duplicate flags in the admin."
        )
        sent += _send(subject, body, sorted(recipients))
    return sent


def tell_customer_merged(*, ticket_id: int, survivor: Ticket) -> int:
    """Tell the contact that their re-sent request continues as the survivor's number."""
    ticket = Ticket.objects.select_related("contact").filter(pk=ticket_id).first()
    if ticket is None or ticket.contact is None:
        return 0
    address = (
        ticket.contact.emails.order_by("-is_primary", "id").values_list("email", flat=True).first()
    )
    if not address:
        return 0  # phone-only contacts hear it from the agent
    subject = f"[{survivor.reference}] {survivor.subject}"
    body = (
        f"Hello,\n\nWe received your message again and added it to your existing request "
        f"{survivor.reference}, so one team handles it. Please quote {survivor.reference} "
        f"if you write to us about it.\n\nYour support team"
    )
    return _send(subject, body, [address])


def _send(subject: str, body: str, recipients: list[str]) -> int:
    try:
        return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # a mail outage must not undo detection; the flag is in the admin
        log.exception("could not send %r to %s", subject, recipients)
        return 0
