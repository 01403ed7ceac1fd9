"""The only writers of tickets and their timelines.

Channels, the admin, the API and Celery tasks call these functions; none of them saves a
Ticket, Message or TicketEvent directly. Every function is atomic, validates its input
with a typed error (``tickets.errors``) and records what it did as a TicketEvent, which is
announced through ``tickets.signals.ticket_event`` once the transaction commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import InvalidInput, InvalidTransition, TicketClosed
from .events import record_event as _record

# Merging lives in its own module; callers use it from here like every other change.
from .merging import ticket_merge as ticket_merge
from .merging import ticket_unmerge as ticket_unmerge
from .models import (
    Account,
    Attachment,
    Channel,
    Contact,
    Department,
    Direction,
    EventKind,
    Message,
    Severity,
    Status,
    Ticket,
)
from .numbering import next_ticket_number
from .sanitize import sanitize_html

# Where a ticket may go next. MERGED is reached only through ticket_merge; CLOSED is final
# (a customer writing again gets a new ticket linked to the closed one).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(
        {Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}
    ),
    Status.OPEN: frozenset({Status.PENDING_CUSTOMER, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.PENDING_CUSTOMER: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING_CUSTOMER, Status.SOLVED, Status.CLOSED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.MERGED: frozenset(),
}
# A customer's message wakes these up: the problem is not solved after all.
REOPENED_BY_CUSTOMER = frozenset({Status.PENDING_CUSTOMER, Status.SOLVED})
MAX_SUBJECT_LENGTH = 255


@dataclass(frozen=True)
class AttachmentIn:
    """A file to attach to a new message."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str = ""
    is_inline: bool = False


@dataclass(frozen=True)
class MessageIn:
    """What a channel knows about one timeline entry."""

    channel: str
    direction: str = Direction.INBOUND
    body_text: str = ""
    body_html: str = ""
    author_contact: Contact | None = None
    author_user: AbstractBaseUser | None = None
    occurred_at: datetime | None = None
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: Sequence[AttachmentIn] = ()


@dataclass(frozen=True)
class MessageResult:
    """The message a service stored, or found already stored (``created`` False)."""

    message: Message
    created: bool

    @property
    def ticket(self) -> Ticket:
        return self.message.ticket


# --- opening and appending -------------------------------------------------------------


def ticket_open(
    *,
    subject: str,
    department: Department,
    message: MessageIn,
    contact: Contact | None = None,
    account: Account | None = None,
    severity: int = Severity.S3,
    actor: AbstractBaseUser | None = None,
    needs_verification: bool = False,
    linked_to: Ticket | None = None,
) -> MessageResult:
    """Open a ticket whose first timeline entry is ``message``.

    Idempotent on ``message.external_id``: if that channel already stored the id, return
    the existing message and its ticket with ``created`` False and change nothing.
    ``linked_to`` names the ticket this one follows up (e.g. a reply to a closed ticket);
    ``needs_verification`` flags a sender agents must confirm before sharing account data.
    """
    subject = _clean_subject(subject)
    _validate_message(message)
    if not department.is_active:
        raise InvalidInput("department", f"{department} is inactive; choose an active department.")
    if severity not in Severity.values:
        raise InvalidInput(
            "severity", f"{severity!r} is not a severity; use 1 (critical) to 4 (low)."
        )
    if account is None and contact is not None:
        account = contact.account
    if existing := _find_external(message):
        return MessageResult(existing, created=False)

    now = timezone.now()
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                number=next_ticket_number(),
                subject=subject,
                department=department,
                severity=severity,
                account=account,
                contact=contact,
                origin_channel=message.channel,
                needs_verification=needs_verification,
                linked_to=linked_to,
                created_at=now,
                updated_at=now,
            )
            _record(
                ticket,
                EventKind.CREATED,
                actor,
                channel=message.channel,
                **({"linked_to": linked_to.pk} if linked_to else {}),
            )
            stored = _insert_message(ticket, message, now)
            _record(ticket, EventKind.MESSAGE_ADDED, actor, **_message_event_data(stored))
    except IntegrityError:
        # A concurrent delivery of the same external id won the race: return its result.
        if existing := _find_external(message):
            return MessageResult(existing, created=False)
        raise
    return MessageResult(stored, created=True)


def message_add(
    *, ticket: Ticket, message: MessageIn, actor: AbstractBaseUser | None = None
) -> MessageResult:
    """Append ``message`` to the ticket's timeline (idempotent on its external id).

    A message for a merged ticket lands in the surviving ticket. A customer's message
    reopens a solved or pending ticket; a closed ticket refuses inbound and outbound
    messages with TicketClosed (open a new ticket instead), but still takes notes.
    """
    _validate_message(message)
    if existing := _find_external(message):
        return MessageResult(existing, created=False)

    now = timezone.now()
    try:
        with transaction.atomic():
            locked = _lock_survivor(ticket)
            if locked.status == Status.CLOSED and message.direction != Direction.INTERNAL:
                raise TicketClosed(
                    f"{locked.reference} is closed; open a new ticket that refers to it."
                )
            stored = _insert_message(locked, message, now)
            _record(locked, EventKind.MESSAGE_ADDED, actor, **_message_event_data(stored))
            update_fields = ["updated_at"]
            if message.direction == Direction.INBOUND and locked.status in REOPENED_BY_CUSTOMER:
                _set_status(locked, Status.OPEN, actor, reason="customer wrote again")
                update_fields += ["status", "solved_at"]
            elif message.direction == Direction.OUTBOUND and locked.status == Status.NEW:
                _set_status(locked, Status.OPEN, actor, reason="agent replied")
                update_fields += ["status"]
            locked.updated_at = now
            locked.save(update_fields=update_fields)
    except IntegrityError:
        if existing := _find_external(message):
            return MessageResult(existing, created=False)
        raise
    return MessageResult(stored, created=True)


# --- state changes ---------------------------------------------------------------------


@transaction.atomic
def ticket_status_set(
    *, ticket: Ticket, status: str, actor: AbstractBaseUser | None = None, reason: str = ""
) -> Ticket:
    """Move the ticket to ``status``; raise InvalidTransition if the move is not allowed."""
    if status not in Status.values:
        raise InvalidInput("status", f"{status!r} is not a status; use one of {Status.values}.")
    locked = _lock(ticket)
    if locked.status == status:
        return locked
    if status not in TRANSITIONS[locked.status]:
        hint = " Merge tickets with ticket_merge." if status == Status.MERGED else ""
        raise InvalidTransition(
            f"{locked.reference} cannot go from {locked.get_status_display()!r} to "
            f"{Status(status).label!r}.{hint}"
        )
    _set_status(locked, status, actor, reason=reason)
    locked.updated_at = timezone.now()
    locked.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
    return locked


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None = None
) -> Ticket:
    """Give the ticket to an active staff user, or to nobody (``None``)."""
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise InvalidInput("assignee", f"{assignee} is not an active agent (staff user).")
    locked = _lock(ticket)
    _ensure_live(locked)
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    _record(
        locked,
        EventKind.ASSIGNED,
        actor,
        previous=locked.assignee_id,
        assignee=assignee.pk if assignee else None,
    )
    locked.assignee = assignee
    locked.updated_at = timezone.now()
    locked.save(update_fields=["assignee", "updated_at"])
    return locked


@transaction.atomic
def ticket_department_set(
    *, ticket: Ticket, department: Department, actor: AbstractBaseUser | None = None
) -> Ticket:
    """Hand the ticket to another department (an escalation the SLA clocks can see)."""
    if not department.is_active:
        raise InvalidInput("department", f"{department} is inactive; choose an active department.")
    locked = _lock(ticket)
    _ensure_live(locked)
    if locked.department_id == department.pk:
        return locked
    _record(
        locked,
        EventKind.DEPARTMENT_CHANGED,
        actor,
        previous=locked.department_id,
        department=department.pk,
    )
    locked.department = department
    locked.updated_at = timezone.now()
    locked.save(update_fields=["department", "updated_at"])
    return locked


@transaction.atomic
def ticket_severity_set(
    *, ticket: Ticket, severity: int, actor: AbstractBaseUser | None = None
) -> Ticket:
    """Change the ticket's severity (1 critical … 4 low)."""
    if severity not in Severity.values:
        raise InvalidInput(
            "severity", f"{severity!r} is not a severity; use 1 (critical) to 4 (low)."
        )
    locked = _lock(ticket)
    _ensure_live(locked)
    if locked.severity == severity:
        return locked
    _record(locked, EventKind.SEVERITY_CHANGED, actor, previous=locked.severity, severity=severity)
    locked.severity = severity
    locked.updated_at = timezone.now()
    locked.save(update_fields=["severity", "updated_at"])
    return locked


# --- helpers ---------------------------------------------------------------------------


def _clean_subject(subject: str) -> str:
    cleaned = " ".join((subject or "").split())
    if not cleaned:
        raise InvalidInput(
            "subject", "A ticket needs a subject; describe the problem in a few words."
        )
    if len(cleaned) > MAX_SUBJECT_LENGTH:
        raise InvalidInput("subject", f"Keep the subject under {MAX_SUBJECT_LENGTH} characters.")
    return cleaned


def _validate_message(message: MessageIn) -> None:
    if message.channel not in Channel.values:
        raise InvalidInput(
            "channel", f"{message.channel!r} is not a channel; use one of {Channel.values}."
        )
    if message.direction not in Direction.values:
        raise InvalidInput("direction", f"{message.direction!r} is not a direction.")
    if (message.channel == Channel.NOTE) != (message.direction == Direction.INTERNAL):
        raise InvalidInput(
            "direction", "Internal notes use channel 'note' and direction 'internal'."
        )
    if message.author_contact is not None and message.author_user is not None:
        raise InvalidInput("author", "A message has one author: a contact or an agent, not both.")
    if message.occurred_at is not None and timezone.is_naive(message.occurred_at):
        raise InvalidInput("occurred_at", "Give occurred_at with a time zone (an aware datetime).")
    if message.external_id is not None and not message.external_id.strip():
        raise InvalidInput("external_id", "external_id must be non-empty when given.")
    if not (message.body_text.strip() or message.body_html.strip() or message.attachments):
        raise InvalidInput("body", "The message is empty: give a text, an HTML body or a file.")


def _find_external(message: MessageIn) -> Message | None:
    if message.external_id is None:
        return None
    return (
        Message.objects.select_related("ticket")
        .filter(channel=message.channel, external_id=message.external_id)
        .first()
    )


def _insert_message(ticket: Ticket, message: MessageIn, now: datetime) -> Message:
    stored = Message.objects.create(
        ticket=ticket,
        channel=message.channel,
        direction=message.direction,
        author_contact=message.author_contact,
        author_user=message.author_user,
        body_text=message.body_text,
        body_html=sanitize_html(message.body_html),
        occurred_at=message.occurred_at or now,
        received_at=now,
        external_id=message.external_id,
        metadata=message.metadata,
    )
    _store_attachments(stored, message.attachments)
    return stored


def _store_attachments(message: Message, attachments: Iterable[AttachmentIn]) -> None:
    for item in attachments:
        digest = hashlib.sha256(item.content).hexdigest()
        name = _safe_filename(item.filename)
        attachment = Attachment(
            message=message,
            filename=name,
            content_type=item.content_type or "application/octet-stream",
            size=len(item.content),
            sha256=digest,
            content_id=item.content_id,
            is_inline=item.is_inline,
        )
        attachment.file.save(name, ContentFile(item.content), save=False)
        attachment.save()


def _safe_filename(filename: str) -> str:
    # Drop any path a sender put in the name and control characters; keep the rest.
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip(" .")
    return base[:200] or "attachment.bin"


def _message_event_data(message: Message) -> dict[str, Any]:
    return {"message": message.pk, "channel": message.channel, "direction": message.direction}


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _lock_survivor(ticket: Ticket) -> Ticket:
    locked = _lock(ticket)
    while locked.merged_into_id is not None:
        locked = Ticket.objects.select_for_update().get(pk=locked.merged_into_id)
    return locked


def _ensure_live(ticket: Ticket) -> None:
    if ticket.status == Status.MERGED:
        raise InvalidTransition(
            f"{ticket.reference} was merged into another ticket; change that ticket instead."
        )


def _set_status(
    ticket: Ticket, status: str, actor: AbstractBaseUser | None, *, reason: str
) -> None:
    _record(
        ticket,
        EventKind.STATUS_CHANGED,
        actor,
        previous=ticket.status,
        status=status,
        reason=reason,
    )
    now = timezone.now()
    ticket.status = status
    if status == Status.SOLVED:
        ticket.solved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
    else:
        ticket.solved_at = None  # back in work: the earlier solution did not hold
