"""Chat conversations: which ticket each live chat (portal widget or outside messenger) feeds."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tickets.models import Contact, Ticket


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
        # The model moved here from the portal; its table kept its name, so an upgrade
        # moves no data (channels_app migration 0004, portal migration 0003).
        db_table = "portal_chatconversation"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["ended_at", "-started_at"], name="chat_live")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "conversation_id"], name="chat_conversation_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"chat {self.conversation_id}"
