"""Which channel adapter sends an agent's reply to the customer.

``tickets`` imports nothing from the channels, so a channel registers its sender here
(``channels_app`` registers email in its ``ready()``) and the admin looks it up by channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from django.contrib.auth.models import AbstractBaseUser

from .models import Message, Ticket


class ReplySender(Protocol):
    def __call__(self, *, ticket: Ticket, body: str, actor: AbstractBaseUser) -> Message: ...


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
