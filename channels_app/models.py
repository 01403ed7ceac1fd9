"""The raw-first ledger: everything that arrives from outside is stored here before any
processing, so a crash, a bug or a bad message never loses it and processing can be re-run.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tickets.models import Channel, Message


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received (waiting for processing)"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"


class InboundRecord(models.Model):
    """One raw arrival: a mail's bytes, a webhook's JSON, a chat line, a call record."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    source = models.CharField(
        max_length=100, blank=True, help_text="Where it came from: mailgun, imap:support, import…"
    )
    external_id = models.CharField(max_length=998, null=True, blank=True)  # noqa: DJ001
    raw = models.BinaryField(null=True, blank=True, help_text="Raw bytes as received.")
    payload = models.JSONField(null=True, blank=True, help_text="Structured payload as received.")
    # Identical arrivals (a webhook retried, a mailbox re-read) are stored once.
    sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    error = models.TextField(blank=True, help_text="Why it failed or was ignored.")
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_records"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
            # A plain index (API re-sends look a record up by it): db_index=True also made
            # a pattern-ops copy for LIKE, which nothing runs, written with every record
            # and every non-HOT update of one (migration 0005).
            models.Index(fields=["external_id"], name="inbound_external_id"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["channel", "sha256"], name="inbound_unique_content"),
            models.CheckConstraint(
                condition=Q(raw__isnull=False) | Q(payload__isnull=False),
                name="inbound_has_payload",
            ),
            models.CheckConstraint(
                condition=Q(status__in=InboundStatus.values), name="inbound_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} from {self.source or 'unknown'}"


# The channels' own models live beside their processors; importing them here registers
# them with the app.
from .chat.models import ChatConversation  # noqa: E402, F401
