"""The one way SupportDesk sends mail: store it, then let a worker send it.

``mail_queue`` / ``mails_queue`` write the mail (recipients, headers, bodies,
attachments) in the caller's transaction, so a mail exists exactly when the change that
causes it commits, and queue the send task after that commit. Nothing here talks to a
mail server: a web request that queues a mail answers whatever the mail server does.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from tickets.inserts import insert_new
from tickets.models import Message, Ticket

from .models import AUTOMATIC_KINDS, MailStatus, OutgoingAttachment, OutgoingMail

logger = logging.getLogger(__name__)

# RFC 3834: automatic answers to a customer's mail, and mails no person wrote.
AUTO_REPLIED = {
    "Auto-Submitted": "auto-replied",
    "X-Auto-Response-Suppress": "All",
    "Precedence": "auto_reply",
}
AUTO_GENERATED = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
NO_REPLY_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster", "noreply", "no-reply"})


@dataclass(frozen=True)
class FileOut:
    """A file to send with a mail."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class MailOut:
    """A mail to send. ``message_id`` is generated when empty (without <>)."""

    kind: str
    to: Sequence[str]
    subject: str
    body_text: str
    body_html: str = ""
    from_email: str = ""
    cc: Sequence[str] = ()
    reply_to: Sequence[str] = ()
    headers: dict[str, str] = field(default_factory=dict)
    ticket: Ticket | None = None
    message: Message | None = None
    attachments: Sequence[FileOut] = ()
    message_id: str = ""
    sensitive: bool = False
    expires_at: datetime | None = None


def new_message_id() -> str:
    """Return a fresh Message-ID (without angle brackets) in our domain."""
    return make_msgid(domain=settings.SUPPORTDESK_EMAIL_MESSAGE_ID_DOMAIN)[1:-1]


def mail_queue(mail: MailOut) -> OutgoingMail:
    """Store one mail and send it after the current transaction commits."""
    return mails_queue([mail])[0]


def mails_queue(mails: Sequence[MailOut]) -> list[OutgoingMail]:
    """Store many mails (one insert) and send them after the current transaction commits,
    in tasks of ``SUPPORTDESK_OUTBOX_BATCH`` (one mail-server connection each)."""
    if not mails:
        return []
    now = timezone.now()
    rows = [_row(mail, now) for mail in mails]
    with transaction.atomic():
        insert_new(rows)  # the ORM's bulk_create prepared every value of every row again
        files = [
            OutgoingAttachment(
                mail=row,
                filename=item.filename[:255],
                content_type=item.content_type[:255],
                content=item.content,
                size=len(item.content),
            )
            for row, mail in zip(rows, mails, strict=True)
            for item in mail.attachments
        ]
        if files:
            OutgoingAttachment.objects.bulk_create(files)
        mails_dispatch([row.pk for row in rows])
    return rows


def _row(mail: MailOut, now: datetime) -> OutgoingMail:
    if not mail.to:
        raise ValueError("A mail needs at least one recipient.")
    headers = {k: v for k, v in mail.headers.items() if k.lower() != "message-id"}
    return OutgoingMail(
        kind=mail.kind,
        message_id=mail.message_id or new_message_id(),
        ticket=mail.ticket,
        timeline_message=mail.message,
        from_email=mail.from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(mail.to),
        cc=list(mail.cc),
        reply_to=list(mail.reply_to),
        to_email=mail.to[0].strip().lower()[:254],
        subject=_one_line(mail.subject)[:255],
        body_text=mail.body_text,
        body_html=mail.body_html,
        headers=headers,
        sensitive=mail.sensitive,
        expires_at=mail.expires_at,
        created_at=now,
        next_attempt_at=now,
    )


def _one_line(text: str) -> str:
    """Header values cannot hold line breaks (Django refuses them at send time, too late)."""
    return " ".join(text.split())


def mails_dispatch(mail_ids: Sequence[int], *, countdown: float | None = None) -> None:
    """Queue the send task for these mails once the current transaction commits."""
    size = max(1, settings.SUPPORTDESK_OUTBOX_BATCH)
    chunks = [list(mail_ids[i : i + size]) for i in range(0, len(mail_ids), size)]
    transaction.on_commit(lambda: _publish(chunks, countdown))


def _publish(chunks: list[list[int]], countdown: float | None) -> None:
    from .tasks import send_mails  # the task module imports this one

    options: dict[str, Any] = {"countdown": countdown}  # None: at once

    for chunk in chunks:
        try:
            send_mails.apply_async((chunk,), **options)
        except Exception:  # broker down: the mails are stored, beat queues them again
            logger.exception("could not queue outgoing mails %s…; beat will re-queue", chunk[:3])


@transaction.atomic
def mail_send_again(*, mail: OutgoingMail) -> bool:
    """Put a failed (or waiting) mail back in the queue; return False for a sent one."""
    locked = OutgoingMail.objects.select_for_update().get(pk=mail.pk)
    if locked.status in (MailStatus.SENT, MailStatus.SENDING):
        return False
    now = timezone.now()
    locked.status = MailStatus.PENDING
    locked.next_attempt_at = now
    locked.error = ""
    # An agent asking again restarts the give-up clock; an expired link stays expired.
    locked.created_at = now
    locked.save(update_fields=["status", "next_attempt_at", "error", "created_at"])
    mails_dispatch([locked.pk])
    return True


def automatic_mails_sent(addresses: Iterable[str]) -> Counter[str]:
    """Count the automatic mails each address got in the last hour (one query)."""
    since = timezone.now() - timedelta(hours=1)
    rows = (
        OutgoingMail.objects.filter(
            to_email__in={a.lower() for a in addresses},
            kind__in=AUTOMATIC_KINDS,
            created_at__gte=since,
        )
        .values("to_email")
        .annotate(n=Count("pk"))
        .values_list("to_email", "n")
    )
    return Counter(dict(rows))


def automatic_refusal(address: str, *, sent_last_hour: int | None = None) -> str | None:
    """Return why no automatic mail may go to ``address`` now, or None if one may.

    Off switch, robots' addresses, and the per-address hourly limit
    ``SUPPORTDESK_AUTO_REPLY_PER_HOUR`` (``sent_last_hour`` when the caller counted).
    """
    if not settings.SUPPORTDESK_AUTO_REPLY_ENABLED:
        return "automatic replies are switched off"
    if "@" not in address:
        return "no usable address"
    if address.split("@", 1)[0].lower() in NO_REPLY_LOCAL_PARTS:
        return "the address is a mail system or no-reply address"
    if sent_last_hour is None:
        sent_last_hour = automatic_mails_sent([address])[address.lower()]
    if sent_last_hour >= settings.SUPPORTDESK_AUTO_REPLY_PER_HOUR:
        return f"{sent_last_hour} automatic mails went to this address in the last hour"
    return None
