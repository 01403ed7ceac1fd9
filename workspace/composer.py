"""Answering a customer on their channel (email, portal, live chat) and writing notes.

Email goes out through the registered reply sender (``tickets.reply_senders``, the one path
for agents' mail); a portal answer is a message the customer sees in the portal; a chat
answer is a line in the live chat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.db.models import Q

from channels_app.chat.conversations import chat_line_from_agent
from channels_app.chat.models import ChatConversation
from tickets.errors import InvalidInput
from tickets.models import Channel, ContactEmail, Direction, Message, Ticket
from tickets.reply_senders import reply_sender
from tickets.services import AttachmentIn, MessageIn, message_add, ticket_reply
from tickets.tagging import clean_tag_names

from .memo import gettext as text  # every ticket page: translated once per process

MENTION = re.compile(r"(?<![\w.@])@([\w.+-]{1,150})")
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class ReplyChannel:
    channel: str
    label: str
    available: bool
    default: bool = False
    why_not: str = ""


def live_chat(ticket: Ticket) -> ChatConversation | None:
    """Return the ticket's chat that is still going on, if any."""
    return (
        ChatConversation.objects.filter(Q(ticket=ticket) | Q(ticket__merged_into=ticket))
        .filter(ended_at__isnull=True)
        .order_by("-started_at")
        .first()
    )


# Whether a chat of the ticket, or of a ticket merged into it, is still going on: the
# ticket page asks on every page of a ticket with chat lines (as the ORM query of
# ``live_chat``, with its OR across a join, ~3 ms of Python: bench/desk_profile.py).
LIVE_CHAT_SQL = (
    f"SELECT 1 WHERE EXISTS (SELECT 1 FROM {ChatConversation._meta.db_table} c "  # noqa: S608
    "WHERE c.ticket_id = %s AND c.ended_at IS NULL) OR EXISTS (SELECT 1 FROM "
    f"{Ticket._meta.db_table} t JOIN {ChatConversation._meta.db_table} c "
    "ON c.ticket_id = t.id WHERE t.merged_into_id = %s AND c.ended_at IS NULL)"
)


def has_live_chat(ticket: Ticket) -> bool:
    """``live_chat(ticket) is not None``, in one plain statement."""
    with connection.cursor() as cursor:
        cursor.execute(LIVE_CHAT_SQL, [ticket.pk, ticket.pk])
        return cursor.fetchone() is not None


def reply_channels(
    ticket: Ticket,
    messages: Sequence[Message] | None = None,
    contact_emails: Sequence[str] | None = None,
    live_chat: bool | None = None,
) -> list[ReplyChannel]:
    """Return the channels an answer can go by, the customer's own marked default.
    ``messages``: the ticket's timeline, when the caller has it (saves three queries);
    ``contact_emails``: the contact's addresses, when the caller has read them (the
    ticket page's side panel shows them; saves the query whether there is one);
    ``live_chat``: whether a chat of the ticket is going on, when the caller has asked
    (``has_live_chat``; the ticket page: workspace.reads.page_reads)."""
    if messages is None:
        last_inbound = (
            Message.objects.filter(ticket=ticket, direction=Direction.INBOUND)
            .order_by("-occurred_at", "-id")
            .values_list("channel", flat=True)
            .first()
        )
        emailed = Message.objects.filter(ticket=ticket, channel=Channel.EMAIL).exists()
        chatted = True
    else:
        inbound = [m.channel for m in messages if m.direction == Direction.INBOUND]
        last_inbound = inbound[-1] if inbound else None
        emailed = any(m.channel == Channel.EMAIL for m in messages)
        # A live chat has a line in the timeline (or started the ticket).
        chatted = ticket.origin_channel == Channel.CHAT or any(
            m.channel == Channel.CHAT for m in messages
        )
    last_inbound = last_inbound or ticket.origin_channel
    has_email = reply_sender(Channel.EMAIL) is not None and (
        emailed
        or (
            bool(contact_emails)
            if contact_emails is not None
            else ContactEmail.objects.filter(contact=ticket.contact_id).exists()
        )
    )
    portal_ok = ticket.contact is not None and ticket.contact.is_verified
    chat = chatted and (has_live_chat(ticket) if live_chat is None else live_chat)
    wanted = {"chat": "chat", "portal": "portal"}.get(last_inbound, "email")
    options = [
        ReplyChannel(Channel.EMAIL, text("Email"), has_email, why_not=text("no customer address")),
        ReplyChannel(
            Channel.PORTAL,
            text("Portal"),
            portal_ok,
            why_not=text("the customer cannot sign in to the portal"),
        ),
        ReplyChannel(Channel.CHAT, text("Live chat"), chat, why_not=text("no live chat")),
    ]
    available = [o.channel for o in options if o.available]
    default = wanted if wanted in available else (available[0] if available else "")
    return [
        ReplyChannel(o.channel, o.label, o.available, o.channel == default, o.why_not)
        for o in options
    ]


def attachments_in(files: Sequence[UploadedFile]) -> list[AttachmentIn]:
    out = []
    for upload in files:
        if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
            raise InvalidInput("attachments", f"{upload.name} is larger than 25 MB.")
        out.append(
            AttachmentIn(
                filename=upload.name or "",
                content=upload.read(),
                content_type=upload.content_type or "application/octet-stream",
            )
        )
    return out


def with_signature(body: str, signature: str) -> str:
    signature = signature.strip()
    return f"{body.rstrip()}\n\n{signature}" if signature else body


def reply_send(
    *,
    ticket: Ticket,
    actor: User,
    channel: str,
    body: str,
    cc: Sequence[str] = (),
    attachments: Sequence[AttachmentIn] = (),
) -> Message:
    """Send the answer on ``channel`` and return its timeline message."""
    if channel == Channel.EMAIL:
        return ticket_reply(
            ticket=ticket, body=body, actor=actor, channel=channel, cc=cc, attachments=attachments
        )
    if cc:
        raise InvalidInput("cc", "CC is for email answers only.")
    if channel == Channel.PORTAL:
        if ticket.contact is None or not ticket.contact.is_verified:
            raise InvalidInput("channel", "This customer cannot sign in to the portal; use email.")
        return message_add(
            ticket=ticket,
            message=MessageIn(
                channel=Channel.PORTAL,
                direction=Direction.OUTBOUND,
                body_text=body,
                author_user=actor,
                attachments=attachments,
            ),
            actor=actor,
        ).message
    if channel == Channel.CHAT:
        conversation = live_chat(ticket)
        if conversation is None:
            raise InvalidInput("channel", "The chat has ended; answer by email or portal.")
        if attachments:
            raise InvalidInput("attachments", "Chat lines carry no files; send them by email.")
        return chat_line_from_agent(conversation=conversation, agent=actor, text=body)
    raise InvalidInput("channel", f"{channel!r} is not a channel agents answer on.")


def note_add(*, ticket: Ticket, actor: User, body: str) -> tuple[Message, list]:
    """Add an internal note; return it and the agents it @mentions (to notify)."""
    message = message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text=body,
            author_user=actor,
        ),
        actor=actor,
    ).message
    return message, mentioned_agents(body, exclude=actor)


def mentioned_agents(text: str, *, exclude: User | None = None) -> list:
    names = {m.group(1).rstrip(".").lower() for m in MENTION.finditer(text or "")}
    if not names:
        return []
    agents = get_user_model().objects.filter(
        is_active=True, is_staff=True, username__in=[n for n in names]
    )
    found = [a for a in agents if exclude is None or a.pk != exclude.pk]
    lower = {a.username.lower() for a in found}
    extra = names - lower
    if extra:  # usernames are case-sensitive in Django; mentions are not
        for agent in get_user_model().objects.filter(is_active=True, is_staff=True):
            if agent.username.lower() in extra and (exclude is None or agent.pk != exclude.pk):
                found.append(agent)
    return found


def parse_tags(value: str) -> list[str]:
    return clean_tag_names((value or "").replace(",", " ").split())
