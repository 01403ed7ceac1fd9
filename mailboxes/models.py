"""IMAP mailboxes as data: where to read mail, how to sign in, and what was read.

``Mailbox`` holds the connection settings (credentials encrypted at rest, see crypto.py)
and the poll state: the folder's UIDVALIDITY and the highest UID stored (the high-water
mark every poll reads above), the lease that keeps two polls of one mailbox apart, and
the health ledger (last success, last error, error streak, lag). ``MailboxMessage`` is
one row per mail the desk has read from a mailbox: which UID, which stored record, whether
it was moved; it is what the reconciliation pass compares the server with, and what a
resync after a UIDVALIDITY change deduplicates against (by Message-ID, or by a hash of
the content for mail without one). ``MailboxAlert`` is one incident (stalled or failing)
from the moment the beat scan raised it until the mailbox recovered.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels_app.models import InboundRecord
from tickets.models import Department

from . import crypto


class Security(models.TextChoices):
    TLS = "tls", _("Implicit TLS (IMAPS, usually port 993)")
    STARTTLS = "starttls", _("STARTTLS (usually port 143)")


class AuthMethod(models.TextChoices):
    PASSWORD = "password", _("Password")
    GOOGLE = "google", _("OAuth2: Google (Gmail, Workspace)")
    MICROSOFT = "microsoft", _("OAuth2: Microsoft 365")


class Mailbox(models.Model):
    """One IMAP folder the desk reads mail from."""

    name = models.SlugField(
        max_length=50,
        unique=True,
        help_text=_("Short name; stored mail shows it as its source (imap:<name>)."),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="mailboxes",
        verbose_name=_("inbox"),
        help_text=_("The inbox (department) this mailbox belongs to."),
    )
    is_active = models.BooleanField(default=True, help_text=_("Polled by the desk."))
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.TLS)
    ca_certificates = models.TextField(
        blank=True,
        help_text=_(
            "PEM of the certificate authority that signed the server's certificate, for a "
            "server with a private CA. Empty: the system's trusted authorities. Certificates "
            "are always verified, names included."
        ),
    )
    folder = models.CharField(max_length=255, default="INBOX")
    move_to = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Folder to move each mail to once it is stored. Empty: mails stay."),
    )
    mark_seen = models.BooleanField(
        default=True, help_text=_("Mark each mail as read once it is stored (when not moved).")
    )
    auth = models.CharField(max_length=10, choices=AuthMethod.choices, default=AuthMethod.PASSWORD)
    username = models.CharField(max_length=255)
    password_encrypted = models.TextField(blank=True, editable=False)
    oauth_client_id = models.CharField(max_length=255, blank=True)
    oauth_client_secret_encrypted = models.TextField(blank=True, editable=False)
    oauth_tenant = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Microsoft 365: the directory (tenant) id or domain; empty: organizations."),
    )
    oauth_token_url = models.URLField(
        blank=True, help_text=_("Token endpoint; empty: the provider's own.")
    )
    oauth_refresh_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_access_token_encrypted = models.TextField(blank=True, editable=False)
    oauth_access_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    poll_every_seconds = models.PositiveIntegerField(default=60)
    backfill_days = models.PositiveIntegerField(
        default=7,
        help_text=_(
            "Mail of this many days is read on the first poll and after the server renumbered "
            "the folder (UIDVALIDITY), and compared with what was stored by the reconciliation."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # --- poll state (written by the poller only) ------------------------------------------
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    next_poll_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_reconciled_at = models.DateTimeField(null=True, blank=True, editable=False)
    lock_token = models.CharField(max_length=32, blank=True, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)

    # --- health ledger --------------------------------------------------------------------
    last_poll_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    error_streak = models.PositiveIntegerField(default=0, editable=False)
    move_error = models.TextField(blank=True, editable=False)
    lag_seconds = models.FloatField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("mailboxes")
        constraints = [
            models.CheckConstraint(
                condition=Q(security__in=Security.values), name="mailbox_security_valid"
            ),
            models.CheckConstraint(
                condition=Q(auth__in=AuthMethod.values), name="mailbox_auth_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        """The ``source`` of the inbound records this mailbox stores."""
        return f"imap:{self.name}"

    # Credentials: set in clear, stored encrypted.
    def set_password(self, password: str) -> None:
        self.password_encrypted = crypto.encrypt(password)

    def password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    def set_oauth_client_secret(self, secret: str) -> None:
        self.oauth_client_secret_encrypted = crypto.encrypt(secret)

    def oauth_client_secret(self) -> str:
        return crypto.decrypt(self.oauth_client_secret_encrypted)

    def set_refresh_token(self, token: str) -> None:
        self.oauth_refresh_token_encrypted = crypto.encrypt(token)
        self.oauth_access_token_encrypted = ""
        self.oauth_access_expires_at = None

    def refresh_token(self) -> str:
        return crypto.decrypt(self.oauth_refresh_token_encrypted)


class MailboxMessage(models.Model):
    """One mail read from a mailbox (or tried: ``error`` says why it could not be)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="messages")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    # sha256 of the Message-ID, or of the normalised content for mail without one.
    key = models.CharField(max_length=64, blank=True)
    record = models.ForeignKey(
        InboundRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    internal_date = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(default=timezone.now)
    moved = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["mailbox", "uidvalidity", "uid"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "uidvalidity", "uid"], name="mailbox_message_once"
            )
        ]
        indexes = [
            models.Index(fields=["mailbox", "key"], name="mailbox_message_key"),
            models.Index(fields=["mailbox", "stored_at"], name="mailbox_message_stored"),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox} UID {self.uid}"


class AlertKind(models.TextChoices):
    STALLED = "stalled", _("No successful poll")
    FAILING = "failing", _("Errors repeat")


class MailboxAlert(models.Model):
    """A mailbox problem from the moment it was raised until the mailbox recovered."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    detail = models.TextField()
    raised_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox"], condition=Q(resolved_at=None), name="mailbox_one_open_alert"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AlertKind.values), name="mailbox_alert_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox}: {self.get_kind_display()}"
