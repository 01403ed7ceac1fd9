"""What a channel hands the ticket services: the input records and their validation.

``tickets.services`` re-exports the records (``MessageIn``, ``TicketOpen`` …); the checks
here raise ``InvalidInput`` with a message that says what to give instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from .attachment_policy import HEAD_BYTES, attachment_refusal
from .errors import InvalidInput
from .models import (
    Account,
    Channel,
    Contact,
    Department,
    Direction,
    Message,
    Severity,
    SupportLine,
    Ticket,
)

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
    author_user: User | None = None
    occurred_at: datetime | None = None
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: Sequence[AttachmentIn] = ()
    # When it reached the desk (a webhook's arrival, the stored record's time), if that
    # was before it is stored here: a ticket it opens starts then, and so do its clocks.
    received_at: datetime | None = None


@dataclass(frozen=True)
class MessageResult:
    """The message a service stored, or found already stored (``created`` False)."""

    message: Message
    created: bool

    @property
    def ticket(self) -> Ticket:
        return self.message.ticket


@dataclass(frozen=True)
class TicketOpen:
    """One ticket to open (the arguments of ``ticket_open``)."""

    subject: str
    department: Department
    message: MessageIn
    contact: Contact | None = None
    account: Account | None = None
    severity: int = Severity.S3
    actor: User | None = None
    needs_verification: bool = False
    linked_to: Ticket | None = None
    # None: the department's line, else the default line (tickets.lines).
    line: SupportLine | None = None
    language: str = ""


@dataclass(frozen=True)
class MessageAdd:
    """One message to append (the arguments of ``message_add``)."""

    ticket: Ticket
    message: MessageIn
    actor: User | None = None


def clean_subject(subject: str) -> str:
    cleaned = " ".join((subject or "").split())
    if not cleaned:
        raise InvalidInput(
            "subject", "A ticket needs a subject; describe the problem in a few words."
        )
    if len(cleaned) > MAX_SUBJECT_LENGTH:
        raise InvalidInput("subject", f"Keep the subject under {MAX_SUBJECT_LENGTH} characters.")
    return cleaned


# The choices' values, read once (``Choices.values`` builds a list each time it
# is read: twice for every message of an intake).
CHANNELS = tuple(Channel.values)
DIRECTIONS = tuple(Direction.values)
SEVERITIES = tuple(Severity.values)


def validate_message(message: MessageIn) -> None:
    if message.channel not in CHANNELS:
        raise InvalidInput(
            "channel", f"{message.channel!r} is not a channel; use one of {Channel.values}."
        )
    if message.direction not in DIRECTIONS:
        raise InvalidInput("direction", f"{message.direction!r} is not a direction.")
    if (message.channel == Channel.NOTE) != (message.direction == Direction.INTERNAL):
        raise InvalidInput(
            "direction", "Internal notes use channel 'note' and direction 'internal'."
        )
    if message.author_contact is not None and message.author_user is not None:
        raise InvalidInput("author", "A message has one author: a contact or an agent, not both.")
    for name in ("occurred_at", "received_at"):
        value = getattr(message, name)
        if value is not None and timezone.is_naive(value):
            raise InvalidInput(name, f"Give {name} with a time zone (an aware datetime).")
    if message.external_id is not None and not message.external_id.strip():
        raise InvalidInput("external_id", "external_id must be non-empty when given.")
    if not (message.body_text.strip() or message.body_html.strip() or message.attachments):
        raise InvalidInput("body", "The message is empty: give a text, an HTML body or a file.")
    for item in message.attachments:  # the last word of the policy every channel applies
        reason = attachment_refusal(
            filename=item.filename,
            content_type=item.content_type,
            size=len(item.content),
            head=item.content[:HEAD_BYTES],
        )
        if reason:
            raise InvalidInput("attachments", f"{item.filename}: {reason}.")
