"""Mail we send on the email channel: acknowledgements with the ticket number,
verification requests and agent replies, each with a Message-ID that threads the
customer's answer back.

Every one goes through the outbox (``outbox.services``): stored in the transaction that
opens the ticket or adds the reply, then sent by a worker with retries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import formataddr

from django.contrib.auth.models import User
from django.db import transaction

from outbox.models import MailKind
from outbox.services import (
    AUTO_REPLIED,
    FileOut,
    MailOut,
    automatic_mails_sent,
    automatic_refusal,
    mail_queue,
    mails_queue,
    new_message_id,
)
from tickets.errors import InvalidInput
from tickets.line_texts import auto_reply_contents
from tickets.lines import texts_of
from tickets.models import Channel, ContactEmail, Direction, Message, TextKey, Ticket
from tickets.reply_senders import register_reply_sender
from tickets.services import AttachmentIn, MessageIn, message_add

from .parsing import ParsedEmail
from .senders import our_addresses

__all__ = [
    "AutoReply",
    "agent_reply_send",
    "auto_replies_queue",
    "auto_replies_sent",
    "auto_reply_refusal",
    "new_message_id",
]


@dataclass(frozen=True)
class AutoReply:
    """An acknowledgement (or verification request) to send for a new ticket."""

    ticket: Ticket
    parsed: ParsedEmail
    to_email: str
    kind: str
    # Which of the line's texts it carries (tickets.line_texts.auto_reply_content).
    text_key: str = TextKey.AUTO_REPLY


def auto_reply_refusal(
    parsed: ParsedEmail,
    to_email: str,
    *,
    ours: set[str] | None = None,
    sent_last_hour: int | None = None,
) -> str | None:
    """Return why no automatic reply may go to this mail's sender, or None if one may.

    RFC 3834 loop protection plus our own rules: no replies to robots, lists, ourselves,
    or to a sender who already got ``SUPPORTDESK_AUTO_REPLY_PER_HOUR`` automatic mails
    in the last hour (``sent_last_hour`` when the caller counted them, see
    ``auto_replies_sent``).
    """
    if parsed.is_automated or parsed.list_id:
        return "the mail is automatic, bulk or list mail"
    suppress = (parsed.x_auto_response_suppress or "").lower()
    if "all" in suppress or "autoreply" in suppress:
        return "the sender asked for no automatic replies (X-Auto-Response-Suppress)"
    if to_email in (our_addresses() if ours is None else ours):
        return "the sender is one of our own addresses"
    return automatic_refusal(to_email, sent_last_hour=sent_last_hour)


def auto_replies_sent(addresses: Iterable[str]) -> Counter[str]:
    """Count the automatic mails each address got in the last hour (one query)."""
    return automatic_mails_sent(addresses)


def auto_replies_queue(replies: Sequence[AutoReply]) -> None:
    """Store the acknowledgements in the caller's transaction (one insert); a worker
    sends them after it commits."""
    mails = []
    # The words are the line's, in the ticket's language (one query for the lines' texts).
    table = texts_of({reply.ticket.line for reply in replies}) if replies else {}
    contents = auto_reply_contents([(r.ticket, r.text_key) for r in replies], table)
    for reply, content in zip(replies, contents, strict=True):
        subject = content.subject
        verification = reply.kind == MailKind.VERIFICATION
        mails.append(
            MailOut(
                kind=reply.kind,
                to=[reply.to_email],
                subject=subject if verification else f"Re: {subject}",
                body_text=content.body,
                from_email=_from_address(reply.ticket),
                headers={
                    "In-Reply-To": f"<{reply.parsed.message_id}>",
                    "References": f"<{reply.parsed.message_id}>",
                    **AUTO_REPLIED,
                },
                ticket=reply.ticket,
            )
        )
    mails_queue(mails)


@register_reply_sender(Channel.EMAIL)
def agent_reply_send(
    *,
    ticket: Ticket,
    body: str,
    actor: User,
    cc: Sequence[str] = (),
    attachments: Sequence[AttachmentIn] = (),
) -> Message:
    """Add an agent's reply to the timeline and queue it by email (copies to ``cc``, with
    ``attachments``), threaded under the customer's last mail, in one transaction: the
    reply exists exactly when its mail does."""
    history = list(
        Message.objects.filter(ticket=ticket, channel=Channel.EMAIL)
        .exclude(external_id=None)
        .order_by("-occurred_at", "-id")
        .values_list("external_id", "direction", "metadata")[:20]
    )
    to_email = _customer_address(ticket, history)
    if not to_email:
        raise InvalidInput(
            "recipient",
            "This ticket has no customer email address; add one to its contact first.",
        )
    message_id = new_message_id()
    inbound = [ext for ext, direction, _ in history if direction == Direction.INBOUND]
    references = [f"<{ext}>" for ext, _, _ in reversed(history)][-10:]
    subject = f"Re: [{ticket.reference}] {ticket.subject}"[:255]
    headers = {}
    if inbound:
        headers["In-Reply-To"] = f"<{inbound[0]}>"
    if references:
        headers["References"] = " ".join(references)
    with transaction.atomic():
        result = message_add(
            ticket=ticket,
            message=MessageIn(
                channel=Channel.EMAIL,
                direction=Direction.OUTBOUND,
                body_text=body,
                author_user=actor,
                external_id=message_id,
                metadata={"to": [to_email], "subject": subject, **({"cc": list(cc)} if cc else {})},
                attachments=tuple(attachments),
            ),
            actor=actor,
        )
        survivor = result.message.ticket
        mail_queue(
            MailOut(
                kind=MailKind.AGENT_REPLY,
                to=[to_email],
                cc=list(cc),
                subject=subject,
                body_text=body,
                from_email=_from_address(survivor),
                headers=headers,
                ticket=survivor,
                message=result.message,
                message_id=message_id,
                attachments=[FileOut(a.filename, a.content, a.content_type) for a in attachments],
            )
        )
    return result.message


def _from_address(ticket: Ticket) -> str:
    return formataddr((ticket.department.name, ticket.department.inbox_email))


def _customer_address(ticket: Ticket, history: list[tuple]) -> str:
    """Return where the agent's reply goes: the newest mail from the ticket's own people
    (its contact, a contact of its account, or, on a ticket without a contact, whoever
    opened it), to its Reply-To if it has one; else the contact's primary address.

    A mail from anyone else (say, one that quoted our Message-ID) never redirects the
    reply: its Reply-To could be anybody's.
    """
    trusted = _ticket_people(ticket)
    for _, direction, metadata in history:
        if direction != Direction.INBOUND:
            continue
        sender = (metadata.get("from") or "").strip().lower()
        if sender and sender in trusted:
            reply_to = metadata.get("reply_to") or []
            return (reply_to[0] if reply_to else sender).lower()
    if ticket.contact is not None:
        email = ticket.contact.emails.order_by("-is_primary", "id").first()
        if email is not None:
            return email.email
    return _opener(ticket)


def _ticket_people(ticket: Ticket) -> set[str]:
    """Return the addresses that speak for the ticket: its contact's, its account's
    contacts', and without a contact the address that opened it."""
    people = ContactEmail.objects.none()
    if ticket.contact_id:
        people = people | ContactEmail.objects.filter(contact_id=ticket.contact_id)
    if ticket.account_id:
        people = people | ContactEmail.objects.filter(contact__account_id=ticket.account_id)
    trusted = {email.lower() for email in people.values_list("email", flat=True)}
    if not ticket.contact_id and (opener := _opener(ticket)):
        trusted.add(opener)
    return trusted


def _opener(ticket: Ticket) -> str:
    first = (
        Message.objects.filter(ticket=ticket, channel=Channel.EMAIL, direction=Direction.INBOUND)
        .order_by("occurred_at", "id")
        .values_list("metadata", flat=True)
        .first()
    ) or {}
    return (first.get("from") or "").strip().lower()
