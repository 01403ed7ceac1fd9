"""Which agents take chats now, and whether the chat widget is offered."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from tickets.models import Contact, SupportLine

from .hours import chat_phone_open
from .models import AgentPresence


def presence_set(*, user, available: bool) -> AgentPresence:
    """Record a heartbeat (and the agent's availability) from the admin's live-chat page."""
    presence, _ = AgentPresence.objects.update_or_create(
        user=user, defaults={"available": available, "last_seen_at": timezone.now()}
    )
    return presence


def agents_online(at: datetime | None = None) -> int:
    """Return how many agents are available with a heartbeat younger than the timeout."""
    at = at or timezone.now()
    since = at - timedelta(seconds=settings.SUPPORTDESK_PRESENCE_TIMEOUT)
    return AgentPresence.objects.filter(
        available=True, last_seen_at__gte=since, user__is_active=True
    ).count()


def chat_available(at: datetime | None = None, line: SupportLine | None = None) -> bool:
    """Return whether to offer live chat: the line's chat hours AND an agent online."""
    at = at or timezone.now()
    if line is not None and not line.takes("chat"):
        return False
    return chat_phone_open(at, line) and agents_online(at) > 0


def chat_allowed(line: SupportLine, contact: Contact | None) -> bool:
    """Return whether the line offers live chat to this contact at all: the line takes
    chats, and a line whose chat is for resellers only serves contacts of a reseller
    account (verified)."""
    if not line.takes("chat"):
        return False
    if not line.chat_requires_reseller:
        return True
    account = contact.account if contact is not None and contact.account_id else None
    return bool(contact is not None and contact.is_verified and account and account.reseller_id)
