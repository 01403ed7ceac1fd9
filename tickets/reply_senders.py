"""Which channel adapter sends an agent's reply to the customer.

``tickets`` imports nothing from the channels, so a channel registers its sender here
(``channels_app`` registers email in its ``ready()``) and the admin, the workspace, or any
other agents' screen, calls ``ticket_reply``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from django.contrib.auth.models import User

from .errors import InvalidInput
from .inputs import AttachmentIn
from .models import Channel, Message, Ticket


class ReplySender(Protocol):
    """Send ``body`` to the ticket's customer (copies to ``cc``, with ``attachments``) and
    return the outbound message it added to the timeline."""

    def __call__(
        self,
        *,
        ticket: Ticket,
        body: str,
        actor: User,
        cc: Sequence[str] = (),
        attachments: Sequence[AttachmentIn] = (),
    ) -> Message: ...


_SENDERS: dict[str, ReplySender] = {}


def register_reply_sender(channel: str) -> Callable[[ReplySender], ReplySender]:
    """Register the decorated function as the sender of agent replies on ``channel``."""

    def decorator(func: ReplySender) -> ReplySender:
        _SENDERS[channel] = func
        return func

    return decorator


def reply_sender(channel: str) -> ReplySender | None:
    """Return the sender registered for ``channel``, if any."""
    return _SENDERS.get(channel)


def ticket_reply(
    *,
    ticket: Ticket,
    body: str,
    actor: User,
    channel: str = Channel.EMAIL,
    cc: Sequence[str] = (),
    attachments: Sequence[AttachmentIn] = (),
) -> Message:
    """Send an agent's reply to the ticket's customer on ``channel`` and return the
    timeline message. The email sender stores the mail in the outbox in the same
    transaction as the message; a worker sends it. Raise InvalidInput when no channel
    adapter sends on ``channel`` or the ticket has no address to answer."""
    if not body.strip():
        raise InvalidInput("body", "Write the reply before sending it.")
    sender = reply_sender(channel)
    if sender is None:
        raise InvalidInput("channel", f"No channel sends agent replies by {channel!r}.")
    return sender(
        ticket=ticket, body=body, actor=actor, cc=tuple(cc), attachments=tuple(attachments)
    )
