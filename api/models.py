"""Outside systems allowed to call the API, with what each may do."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Integration(models.Model):
    """A messenger, telephony system or script; authenticates by token or signed body."""

    name = models.SlugField(max_length=50, unique=True, help_text="Also the source of its records.")
    # Only the token's hash is stored: a database leak does not leak working tokens.
    token_sha256 = models.CharField(max_length=64, unique=True, null=True, blank=True)  # noqa: DJ001
    hmac_secret = models.CharField(
        max_length=200, blank=True, help_text="Shared secret for X-SupportDesk-Signature."
    )
    is_active = models.BooleanField(default=True)
    can_push_chat = models.BooleanField(default=False)
    can_push_phone = models.BooleanField(default=False)
    can_read_tickets = models.BooleanField(default=False)
    can_open_tickets = models.BooleanField(default=False)
    line = models.ForeignKey(
        "tickets.SupportLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The support line its tickets belong to (empty: the default line).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # DRF's permission and throttling code asks these of request.user.
    is_authenticated = True

    def issue_token(self) -> str:
        """Set a new random token (the old one stops working) and return it, once."""
        token = secrets.token_urlsafe(32)
        self.token_sha256 = hash_token(token)
        self.save(update_fields=["token_sha256"])
        return token


class SeenSignature(models.Model):
    """A request signature accepted within the timestamp window: the same one again is a
    replay. Rows older than the window are pruned as new ones arrive."""

    signature = models.CharField(max_length=64, unique=True, help_text="The HMAC, hex.")
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.signature[:12]}… {self.seen_at:%H:%M:%S}"
