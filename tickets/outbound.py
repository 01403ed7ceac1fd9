"""Which channel adapter sends an agent's reply to the customer.

``tickets`` imports nothing from the channels, so a channel registers its sender here
(``channels_app`` registers email in its ``ready()``) and the admin looks it up by channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from django.contrib.auth.models import AbstractBaseUser

from .models import Message, Ticket

if TYPE_CHECKING:
    from .intake import AttachmentIn


class ReplySender(Protocol):
    """Send ``body`` to the ticket's customer (copies to ``cc``, with ``attachments``) and
    return the outbound message it added to the timeline."""

    def __call__(
        self,
        *,
        ticket: Ticket,
        body: str,
        actor: AbstractBaseUser,
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
