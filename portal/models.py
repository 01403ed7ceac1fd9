"""Portal state that is not ticket data: used sign-in links, agent presence; the admin of chats."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from channels_app.chat import models as chat_models
from tickets.models import Contact


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


class ChatConversation(chat_models.ChatConversation):
    """The agents' admin of live chats (their chat window and the phone log hang off it).

    The conversations themselves belong to the chat channel (``channels_app.chat``); this
    proxy keeps the admin's addresses (``/admin/portal/chatconversation/…``) and the
    permissions agents were given on them when the model moved there.
    """

    class Meta:
        proxy = True
