"""Mail we send: acknowledgements with the ticket number, verification requests and agent
replies, each with a Message-ID we keep so the customer's answer threads back.

Sending happens after the database commit (a rolled-back ticket sends nothing); the
outcome is kept on ``OutboundEmail`` (``sent_at`` or ``error``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone

from tickets.errors import InvalidInput
from tickets.models import Channel, Direction, Message, Ticket
from tickets.outbound import register_reply_sender
from tickets.services import AttachmentIn, MessageIn, message_add

from ..models import OutboundEmail, OutboundKind
from .parsing import ParsedEmail
from .senders import our_addresses

logger = logging.getLogger(__name__)
NO_REPLY_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster", "noreply", "no-reply"})
AUTOMATIC_KINDS = (OutboundKind.AUTO_REPLY, OutboundKind.VERIFICATION)


def new_message_id() -> str:
    """Return a fresh Message-ID (without angle brackets) in our domain."""
    return make_msgid(domain=settings.SUPPORTDESK_EMAIL_MESSAGE_ID_DOMAIN)[1:-1]


@dataclass(frozen=True)
class AutoReply:
    """An acknowledgement (or verification request) to send for a new ticket."""

    ticket: Ticket
    parsed: ParsedEmail
    to_email: str
    kind: str


def auto_reply_refusal(
    parsed: ParsedEmail,
    to_email: str,
    *,
    ours: set[str] | None = None,
    sent_last_hour: int | None = None,
) -> str | None:
    """Return why no automatic reply may go to this mail's sender, or None if one may.

    RFC 3834 loop protection plus our own rules: no replies to robots, lists, ourselves,
    or to a sender who already got ``SUPPORTDESK_AUTO_REPLY_PER_HOUR`` in the last hour
    (``sent_last_hour`` when the caller counted them already, see ``auto_replies_sent``).
    """
    if not settings.SUPPORTDESK_AUTO_REPLY_ENABLED:
        return "automatic replies are switched off"
    if parsed.is_automated or parsed.list_id:
        return "the mail is automatic, bulk or list mail"
    if "@" not in to_email:
        return "no usable sender address"
    if to_email.split("@", 1)[0] in NO_REPLY_LOCAL_PARTS:
        return "the sender is a mail system or no-reply address"
    suppress = (parsed.x_auto_response_suppress or "").lower()
    if "all" in suppress or "autoreply" in suppress:
        return "the sender asked for no automatic replies (X-Auto-Response-Suppress)"
    if to_email in (our_addresses() if ours is None else ours):
        return "the sender is one of our own addresses"
    if sent_last_hour is None:
        sent_last_hour = auto_replies_sent([to_email])[to_email]
    if sent_last_hour >= settings.SUPPORTDESK_AUTO_REPLY_PER_HOUR:
        return f"{sent_last_hour} automatic replies went to this sender in the last hour"
    return None


def auto_replies_sent(addresses: Iterable[str]) -> Counter[str]:
    """Count the automatic replies each address got in the last hour (one query)."""
    since = timezone.now() - timedelta(hours=1)
    rows = (
        OutboundEmail.objects.filter(
            to_email__in=set(addresses), kind__in=AUTOMATIC_KINDS, created_at__gte=since
        )
        .values("to_email")
        .annotate(n=Count("pk"))
        .values_list("to_email", "n")
    )
    return Counter(dict(rows))


def auto_reply_queue(*, ticket: Ticket, parsed: ParsedEmail, to_email: str, kind: str) -> None:
    """Record an acknowledgement (or verification request) and send it after commit."""
    auto_replies_queue([AutoReply(ticket, parsed, to_email, kind)])


def auto_replies_queue(replies: Sequence[AutoReply]) -> None:
    """Record many acknowledgements in one insert; send them after commit through one
    connection to the mail backend."""
    rows: list[OutboundEmail] = []
    mails: list[EmailMessage] = []
    for reply in replies:
        message_id = new_message_id()
        subject = f"[{reply.ticket.reference}] {reply.ticket.subject}"[:255]
        verification = reply.kind == OutboundKind.VERIFICATION
        template = "email/verification_request.txt" if verification else "email/auto_reply.txt"
        rows.append(
            OutboundEmail(
                message_id=message_id,
                ticket=reply.ticket,
                kind=reply.kind,
                to_email=reply.to_email,
                subject=subject,
            )
        )
        mails.append(
            EmailMessage(
                subject=subject if verification else f"Re: {subject}",
                body=render_to_string(template, {"ticket": reply.ticket}),
                from_email=_from_address(reply.ticket),
                to=[reply.to_email],
                headers={
                    "Message-ID": f"<{message_id}>",
                    "In-Reply-To": f"<{reply.parsed.message_id}>",
                    "References": f"<{reply.parsed.message_id}>",
                    "Auto-Submitted": "auto-replied",
                    "X-Auto-Response-Suppress": "All",
                    "Precedence": "auto_reply",
                },
            )
        )
    if not rows:
        return
    OutboundEmail.objects.bulk_create(rows)
    pairs = [(row.pk, mail) for row, mail in zip(rows, mails, strict=True)]
    transaction.on_commit(lambda: deliver_many(pairs))


@register_reply_sender(Channel.EMAIL)
def agent_reply_send(
    *,
    ticket: Ticket,
    body: str,
    actor: AbstractBaseUser,
    cc: Sequence[str] = (),
    attachments: Sequence[AttachmentIn] = (),
) -> Message:
    """Send an agent's reply by email, threaded under the customer's last mail (copies to
    ``cc``, with ``attachments``), and add it to the timeline as an outbound message."""
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
    headers = {"Message-ID": f"<{message_id}>"}
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
                attachments=attachments,
            ),
            actor=actor,
        )
        survivor = result.message.ticket
        record = OutboundEmail.objects.create(
            message_id=message_id,
            ticket=survivor,
            kind=OutboundKind.AGENT_REPLY,
            to_email=to_email,
            subject=subject,
        )
        mail = EmailMessage(
            subject=subject,
            body=body,
            from_email=_from_address(survivor),
            to=[to_email],
            cc=list(cc),
            headers=headers,
        )
        for attachment in attachments:
            mail.attach(attachment.filename, attachment.content, attachment.content_type)
        transaction.on_commit(lambda: deliver(record.pk, mail))
    return result.message


def deliver(outbound_id: int, mail: EmailMessage) -> None:
    """Send one recorded mail and note the outcome; never raise (the ticket is saved)."""
    deliver_many([(outbound_id, mail)])


def deliver_many(pairs: Sequence[tuple[int, EmailMessage]]) -> None:
    """Send recorded mails through one backend connection and note each outcome; never
    raise (the tickets are saved; a failed mail keeps its error for an agent to see)."""
    sent: list[int] = []
    try:
        connection = get_connection()
    except Exception as exc:  # a misconfigured backend: every mail keeps the reason
        logger.exception("no mail backend connection for %d outbound emails", len(pairs))
        error = f"{type(exc).__name__}: {exc}"
        OutboundEmail.objects.filter(pk__in=[pk for pk, _ in pairs]).update(error=error)
        return
    for outbound_id, mail in pairs:
        mail.connection = connection
        try:
            mail.send()
        except Exception as exc:  # any backend error: keep it visible, the data is safe
            logger.exception("sending outbound email %s failed", outbound_id)
            error = f"{type(exc).__name__}: {exc}"
            OutboundEmail.objects.filter(pk=outbound_id).update(error=error)
        else:
            sent.append(outbound_id)
    try:
        connection.close()
    except Exception:  # the mails went out; a failing QUIT changes nothing
        logger.warning("closing the mail backend connection failed", exc_info=True)
    if sent:
        OutboundEmail.objects.filter(pk__in=sent).update(sent_at=timezone.now(), error="")


def _from_address(ticket: Ticket) -> str:
    return formataddr((ticket.department.name, ticket.department.inbox_email))


def _customer_address(ticket: Ticket, history: list[tuple]) -> str:
    for _, direction, metadata in history:
        if direction == Direction.INBOUND:
            reply_to = metadata.get("reply_to") or []
            if reply_to or metadata.get("from"):
                return (reply_to[0] if reply_to else metadata["from"]).lower()
    if ticket.contact_id:
        email = ticket.contact.emails.order_by("-is_primary", "id").first()
        if email is not None:
            return email.email
    return ""
