"""Live chat lines from the portal widget and from agents; a chat's end; its lines for polling."""

from __future__ import annotations

import uuid

from django.utils import timezone

from tickets.errors import TicketError
from tickets.models import Channel, Contact, Direction, Message
from tickets.services import MessageIn, message_add

from ..inbound import inbound_process, inbound_store
from ..models import InboundStatus
from .models import ChatConversation


def chat_line_from_customer(
    *, conversation_id: str, contact: Contact, text: str, email: str = "", line: str = ""
) -> Message:
    """Store the customer's line raw first, then turn it into a message right away.

    The widget is interactive, so the line is processed in the request (the queued task
    finds it done); the raw record is kept like every other arrival.
    """
    line_id = uuid.uuid4().hex
    record, _ = inbound_store(
        channel=Channel.CHAT,
        source="portal",
        payload={
            "id": line_id,
            "conversation_id": conversation_id,
            "text": text,
            "occurred_at": timezone.now().isoformat(),
            "from_email": email,
            "from_name": contact.name,
            "contact_id": contact.pk,
            **({"line": line} if line else {}),
        },
        external_id=f"portal:{line_id}",
    )
    record = inbound_process(record.pk)
    if record.status != InboundStatus.PROCESSED or record.message is None:
        raise TicketError(record.error or "The line could not be stored; try again.")
    return record.message


def chat_line_from_agent(*, conversation: ChatConversation, agent, text: str) -> Message:
    """Append an agent's answer to the chat's ticket."""
    return message_add(
        ticket=conversation.ticket,
        message=MessageIn(
            channel=Channel.CHAT,
            direction=Direction.OUTBOUND,
            body_text=text,
            author_user=agent,
            metadata={"conversation_id": conversation.conversation_id},
        ),
        actor=agent,
    ).message


def chat_end(conversation: ChatConversation) -> None:
    """Mark the chat ended (it leaves the agents' live list; the ticket stays)."""
    if conversation.ended_at is None:
        conversation.ended_at = timezone.now()
        conversation.save(update_fields=["ended_at"])


def chat_lines_after(conversation: ChatConversation, after_id: int) -> list[dict]:
    """Return the chat's customer-visible lines newer than message ``after_id`` (for polling)."""
    lines = (
        Message.objects.filter(ticket_id=conversation.ticket_id, pk__gt=after_id)
        .exclude(channel=Channel.NOTE)
        .select_related("author_user", "author_contact")
        .order_by("occurred_at", "id")
    )
    return [
        {
            "id": m.pk,
            "who": "agent" if m.direction == Direction.OUTBOUND else "customer",
            "author": m.author_name,
            "text": m.body_text,
            "at": m.occurred_at.isoformat(),
        }
        for m in lines
    ]
