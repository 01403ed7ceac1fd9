"""Every mail SupportDesk sends, stored before it is sent.

A row holds everything needed to send the mail again (recipients, headers, bodies,
attachments), so a failed SMTP server or ESP never loses a mail and an agent can send
a failed one again. Its Message-ID threads the customer's answer back to the ticket.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MailKind(models.TextChoices):
    AUTO_REPLY = "auto_reply", _("Automatic acknowledgement")
    VERIFICATION = "verification", _("Verification request")
    AGENT_REPLY = "agent_reply", _("Agent reply")
    MAGIC_LINK = "magic_link", _("Portal sign-in link")
    SUBMISSION = "submission", _("Portal submission confirmation")
    MERGE_NOTICE = "merge_notice", _("Automatic merge notice")
    DUPLICATE_ALERT = "duplicate_alert", _("Possible duplicate (to agents)")
    SLA_ALERT = "sla_alert", _("SLA alert (to agents)")
    CSAT_SURVEY = "csat_survey", _("Satisfaction survey")
    AGENT_NOTICE = "agent_notice", _("Workspace notification (to an agent)")
    MAILBOX_ALERT = "mailbox_alert", _("Mailbox stalled or failing (to admins)")


# Mails sent to a customer without a person writing them: they share the per-sender
# hourly limit (SUPPORTDESK_AUTO_REPLY_PER_HOUR), so two desks cannot loop.
AUTOMATIC_KINDS = (MailKind.AUTO_REPLY, MailKind.VERIFICATION, MailKind.MERGE_NOTICE)


class MailStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutgoingMail(models.Model):
    """One mail to send, with its delivery state."""

    kind = models.CharField(max_length=20, choices=MailKind.choices)
    message_id = models.CharField(max_length=998, unique=True, help_text=_("Without <>."))
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outgoing_mails",
    )
    timeline_message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outgoing_mails",
        help_text=_("The timeline message this mail carries (agent replies)."),
        db_index=False,  # indexed only where set (Meta): most mails carry none
    )
    from_email = models.CharField(max_length=320)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    # The first recipient, lower-cased: what the per-sender rate limit counts (looked up
    # through outbox_rate_window, which starts with it: no index of its own).
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # A sign-in link must not be readable by agents: its body is hidden and erased once sent.
    sensitive = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=MailStatus.choices, default=MailStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while one worker sends the mail; a claim older than its lease is a dead worker's.
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Not worth sending after this (sign-in links).")
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True, help_text=_("Why the last attempt failed, if it did."))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outgoing mails")
        # Every index here gets an entry for each version of a row: the insert, the
        # claim and the outcome (updates of ``status``, which an index holds, so none is
        # HOT). Hence only what a query needs: the mails still waiting (a few, not the
        # whole history: a sent or failed version adds no entry), the rate window, the
        # carried timeline messages (for SET NULL when one is deleted). The unique
        # Message-ID's pattern-ops twin is dropped in migration 0008 (nothing runs LIKE).
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="outbox_waiting",
                condition=Q(status__in=[MailStatus.PENDING, MailStatus.SENDING]),
            ),
            models.Index(fields=["to_email", "kind", "created_at"], name="outbox_rate_window"),
            models.Index(
                fields=["timeline_message"],
                name="outbox_timeline_message",
                condition=Q(timeline_message__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MailKind.values), name="outbox_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=MailStatus.values), name="outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=MailStatus.SENT) | Q(sent_at__isnull=False),
                name="outbox_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_email}"


class OutgoingAttachment(models.Model):
    """A file sent with a mail, kept in the database with it (one transaction)."""

    mail = models.ForeignKey(OutgoingMail, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename
