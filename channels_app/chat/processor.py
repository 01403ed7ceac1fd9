"""Processor for chat lines (channel ``chat``): the portal widget and messenger integrations.

The raw-first ledger stores the lines and calls it through the processor registry
(registered by ``ChannelsAppConfig.ready()``).

Payload (JSON object), one line per record:

- ``conversation_id`` (required): every line of a conversation lands on one ticket; the
  id is the source's own (the portal's, or one integration's), so it is scoped per source.
- ``text`` (required), ``occurred_at`` (ISO 8601 with offset; default: now), ``direction``
  (``inbound`` from the customer, default, or ``outbound`` from an agent).
- ``from_email`` / ``from_handle`` / ``from_name``: who wrote; matched to a contact.
- ``agent``: the agent's username for outbound lines.
- ``subject``, ``line`` and ``department`` (slugs): used when the line opens the
  conversation (default: the line's department that takes chats).

The record's ``external_id`` (the line's id, prefixed with the source) makes re-delivery
idempotent. Lines may arrive out of order; the timeline sorts by ``occurred_at``.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tickets.errors import InvalidInput
from tickets.models import Channel, Contact, Direction, Message
from tickets.selectors import contacts_by_email
from tickets.services import MessageIn, message_add, ticket_open

from ..errors import InboundRejected
from ..models import InboundRecord
from ..payload import (
    agent_by_username,
    department_from_payload,
    line_from_payload,
    parse_when,
    required_text,
)
from ..processors import register
from .models import ChatConversation

SUBJECT_LENGTH = 80


@register(Channel.CHAT)
def process_chat_line(record: InboundRecord) -> Message:
    """Append the line to its conversation's ticket, opening both on the first line."""
    data = record.payload
    if not isinstance(data, dict):
        raise InboundRejected("The payload must be a JSON object.")
    conversation_id = required_text(data, "conversation_id")[:200]
    text = required_text(data, "text")
    direction = data.get("direction") or Direction.INBOUND
    if direction not in (Direction.INBOUND, Direction.OUTBOUND):
        raise InboundRejected("direction must be 'inbound' (customer) or 'outbound' (agent).")
    agent = agent_by_username(data.get("agent")) if direction == Direction.OUTBOUND else None
    contact = _contact(record, data) if direction == Direction.INBOUND else None
    message = MessageIn(
        channel=Channel.CHAT,
        direction=direction,
        body_text=text,
        author_contact=contact,
        author_user=agent,
        occurred_at=parse_when(data.get("occurred_at")),
        received_at=record.received_at,  # stored then: its clocks start then
        external_id=record.external_id or data.get("external_id"),
        metadata={
            "conversation_id": conversation_id,
            "source": record.source,
            **{k: str(data[k]) for k in ("from_email", "from_handle", "from_name") if data.get(k)},
        },
    )
    # The row lock serialises lines of one conversation, so two first lines processed at
    # once cannot open two tickets (the loser's unique-key error is retried by the task).
    conversation = (
        ChatConversation.objects.select_for_update()
        .select_related("ticket")
        .filter(source=record.source, conversation_id=conversation_id)
        .first()
    )
    if conversation is not None:
        return message_add(ticket=conversation.ticket, message=message).message
    line = line_from_payload(data)
    department = department_from_payload(data, Channel.CHAT, line)
    if not department.accepts_chat:
        raise InboundRejected(f"{department} does not take chats; write to it by email.")
    try:
        result = ticket_open(
            subject=data.get("subject") or _subject_from(text),
            department=department,
            message=message,
            contact=contact,
            line=line,
        )
    except InvalidInput as exc:  # e.g. the line takes no chats
        raise InboundRejected(exc.message) from exc
    ChatConversation.objects.create(
        conversation_id=conversation_id,
        ticket=result.ticket,
        contact=contact,
        source=record.source,
        started_at=message.occurred_at or timezone.now(),
    )
    return result.message


def _subject_from(text: str) -> str:
    first = " ".join(text.split())
    return "Chat: " + (first[:SUBJECT_LENGTH] + "…" if len(first) > SUBJECT_LENGTH else first)


def _contact(record: InboundRecord, data: dict[str, Any]) -> Contact | None:
    # The portal knows the signed-in contact; outside systems are matched by address/handle.
    if record.source == "portal" and data.get("contact_id"):
        return Contact.objects.filter(pk=data["contact_id"]).first()
    if email := data.get("from_email"):
        if found := contacts_by_email(str(email)).first():
            return found
    if handle := data.get("from_handle"):
        return Contact.objects.filter(chat_handle=str(handle)).first()
    return None
