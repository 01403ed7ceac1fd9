"""Portal state that is not ticket data: used sign-in links, agent presence, chats."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models import Contact, Ticket


class MagicLinkUse(models.Model):
    """A sign-in link that was used: each link works once (the nonce is unique)."""

    nonce = models.CharField(max_length=64, unique=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"link {self.nonce[:8]}… used {self.used_at:%Y-%m-%d %H:%M}"


class AgentPresence(models.Model):
    """Whether an agent takes chats; it lapses without a heartbeat (closed tab, lost laptop)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presence"
    )
    available = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} {'available' if self.available else 'away'}"


class ChatConversation(models.Model):
    """One live chat (portal widget or an outside messenger) and the ticket it feeds.

    A conversation id is the id in its source's system (the portal, or one integration:
    ``api:<name>``), so it is unique per source: two messengers' conversation "42" are
    two chats.
    """

    conversation_id = models.CharField(max_length=200)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="chats")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="chats"
    )
    source = models.CharField(max_length=100, blank=True, help_text="portal or the integration")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["ended_at", "-started_at"], name="chat_live")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "conversation_id"], name="chat_conversation_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"chat {self.conversation_id}"
