"""The one ticket model every channel feeds: accounts, contacts, departments, tickets,
their timeline of messages, attachments and the event history.

Models hold data and database-level rules (constraints, indexes). State changes live in
``tickets.services``; reads used by several callers live in ``tickets.selectors``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .line_models import Language, LineInbox, LineText, SupportLine, TextKey

__all__ = ["Language", "LineInbox", "LineText", "SupportLine", "TextKey"]  # with the models below


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    NOTE = "note", _("Internal note")


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound (from the customer)"
    OUTBOUND = "outbound", "Outbound (to the customer)"
    INTERNAL = "internal", "Internal"


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Pending customer")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")
    MERGED = "merged", _("Merged")


class Severity(models.IntegerChoices):
    S1 = 1, _("S1 critical")
    S2 = 2, _("S2 high")
    S3 = 3, _("S3 normal")
    S4 = 4, _("S4 low")


class Tier(models.TextChoices):
    BASIC = "basic", "Basic"
    STANDARD = "standard", "Standard"
    PREMIUM = "premium", "Premium"


class ContactRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    REGISTRANT = "registrant", _("Registrant (from the registration form)")
    AUTHORIZED = "authorized", _("Authorized contact")
    UNVERIFIED = "unverified", _("Unverified")


class DepartmentKind(models.TextChoices):
    CUSTOMER_SUPPORT = "customer_support", "Customer support"
    TECHNICAL_SUPPORT = "technical_support", "Technical support"
    LEGAL_ABUSE = "legal_abuse", "Legal / abuse"


def _choice_check(field: str, choices: type[models.Choices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class Account(models.Model):
    """A customer site or a reseller: the party whose information is protected."""

    name = models.CharField(max_length=200)
    # NULL for direct customers: unique must not collide on "".
    reseller_id = models.CharField(  # noqa: DJ001
        max_length=32,
        unique=True,
        null=True,
        blank=True,
        help_text="Reseller ID customers quote in their mails; empty for direct customers.",
    )
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    line = models.ForeignKey(
        SupportLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
        help_text="The support line this customer belongs to (empty: any line).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [_choice_check("tier", Tier, "account_tier_valid")]

    def __str__(self) -> str:
        return f"{self.name} (reseller {self.reseller_id})" if self.reseller_id else self.name


class Contact(models.Model):
    """A person who writes to support, usually on behalf of an account."""

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(
        max_length=16, choices=ContactRole.choices, default=ContactRole.UNVERIFIED
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    chat_handle = models.CharField(max_length=200, blank=True, db_index=True)
    language = models.CharField(
        max_length=5, choices=Language.choices, blank=True, help_text="Preferred language."
    )
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="IANA name; empty: the support line's zone."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [_choice_check("role", ContactRole, "contact_role_valid")]

    def __str__(self) -> str:
        return self.name or f"Contact #{self.pk}"

    @property
    def is_verified(self) -> bool:
        """Return whether support may give this contact information about its account."""
        return self.verified_at is not None and self.role != ContactRole.UNVERIFIED

    @property
    def manages_contacts(self) -> bool:
        """Return whether this contact issues the account's list of contact persons: the
        owner, or the contact person from the registration form (registrant)."""
        return (
            self.is_verified
            and self.account_id is not None
            and self.role in (ContactRole.OWNER, ContactRole.REGISTRANT)
        )


class ContactEmail(models.Model):
    """One address of a contact; addresses are stored lower-cased and looked up by index."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(max_length=254, db_index=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "email"], name="contact_email_unique"),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="contact_email_lowercase"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        self.email = (self.email or "").strip().lower()


class ContactPhone(models.Model):
    """One phone number of a contact, in E.164 (``+31201234567``)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, db_index=True, help_text="E.164, e.g. +31201234567")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="contact_phone_unique"),
            # Full E.164 validation is phonenumbers' job (clean); the database keeps the "+".
            models.CheckConstraint(condition=Q(number__startswith="+"), name="contact_phone_e164"),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        from .phones import normalize_phone  # local: keeps phonenumbers out of model import

        self.number = normalize_phone(self.number)


class Department(models.Model):
    """A team with its own inbox: customer support, technical support, legal/abuse."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=24, choices=DepartmentKind.choices)
    inbox_email = models.EmailField(unique=True, help_text="Mail to this address lands here.")
    accepts_chat = models.BooleanField(default=True)
    accepts_phone = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    line = models.ForeignKey(
        SupportLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="departments",
        help_text="The support line this team works for (empty: every line).",
    )
    registered_contacts_only = models.BooleanField(
        default=False,
        help_text="Takes requests only from registered (verified) contacts; others are told "
        "to register first and their ticket is held for verification.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [_choice_check("kind", DepartmentKind, "department_kind_valid")]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """One customer problem, whatever the channels it arrived through."""

    number = models.BigIntegerField(unique=True, editable=False)
    subject = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.S3)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="tickets")
    # Set once when the ticket opens (inbox, portal host or path, API integration).
    line = models.ForeignKey(SupportLine, on_delete=models.PROTECT, related_name="tickets")
    language = models.CharField(
        max_length=5, choices=Language.choices, blank=True, help_text="Language we answer in."
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    origin_channel = models.CharField(max_length=10, choices=Channel.choices)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_tickets"
    )
    # Set when the sender could not be confirmed as a verified contact of the account the
    # mail names (or joined another ticket by its token alone): agents verify first and
    # give no account information until then.
    needs_verification = models.BooleanField(
        default=False, help_text="Confirm the sender before sharing account information."
    )
    # A follow-up of a closed ticket (or a quarantined mail quoting another ticket's token)
    # points at the ticket it refers to.
    linked_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    # A merged duplicate the customer opened on their own (a re-send, not asked by
    # support): SLA reports can leave it out.
    cloned_by_customer = models.BooleanField(
        default=False, help_text="Merged as a copy the customer sent again on their own."
    )
    # Changed through tickets.services.ticket_tags_set (a recorded event), never directly.
    tags: models.ManyToManyField[Tag, Any] = models.ManyToManyField(
        "Tag", blank=True, related_name="tickets"
    )
    # One outage, many customers (issue 15): a problem ticket, and the incidents (the
    # customers' own tickets, each with its own SLA clock) linked to it.
    is_problem = models.BooleanField(default=False)
    problem = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="ticket_status_updated"),
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated"),
            # Duplicate detection reads an account's and a contact's recent tickets per new
            # ticket: the window only, not every ticket a big reseller ever opened.
            models.Index(fields=["account", "-created_at"], name="ticket_account_created"),
            models.Index(fields=["contact", "-created_at"], name="ticket_contact_created"),
        ]
        constraints = [
            _choice_check("status", Status, "ticket_status_valid"),
            _choice_check("origin_channel", Channel, "ticket_origin_channel_valid"),
            models.CheckConstraint(
                condition=Q(severity__gte=1, severity__lte=4), name="ticket_severity_valid"
            ),
            # A merged ticket always points at its survivor, and only a merged one does.
            models.CheckConstraint(
                condition=(Q(status=Status.MERGED) & Q(merged_into__isnull=False))
                | (~Q(status=Status.MERGED) & Q(merged_into__isnull=True)),
                name="ticket_merged_has_target",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")), name="ticket_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=Q(problem__isnull=True) | Q(is_problem=False),
                name="ticket_problem_is_no_incident",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        """Return the public ticket number customers quote, e.g. ``SD-104233``."""
        return format_reference(self.number)


class Tag(models.Model):
    """A label agents put on tickets (``refund``, ``vip``…); names are stored lower-cased."""

    name = models.CharField(max_length=50, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(name=Lower("name")), name="tag_name_lowercase")
        ]

    def __str__(self) -> str:
        return self.name


def format_reference(number: int) -> str:
    """Return the public reference for a ticket number."""
    return f"{settings.SUPPORTDESK_TICKET_PREFIX}-{number}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    # Content-addressed folders: no collisions, and the same file is easy to spot.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}/{filename}"


class Message(models.Model):
    """One entry of a ticket's timeline: a mail, a chat line, a call, a portal post, a note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_messages",
    )
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitized HTML; never raw.")
    occurred_at = models.DateTimeField(help_text="When it happened: the call, the chat line.")
    received_at = models.DateTimeField(default=timezone.now)
    # NULL, not "", means "no id": the partial unique constraint skips NULLs.
    external_id = models.CharField(  # noqa: DJ001
        max_length=998,
        null=True,
        blank=True,
        help_text="Message-ID, chat message id or call id; unique per channel.",
    )
    metadata = models.JSONField(default=dict, blank=True)
    # Set when a merge moved this message here, so an un-merge can move it back.
    merged_from = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["ticket", "occurred_at", "id"], name="message_timeline")]
        constraints = [
            _choice_check("channel", Channel, "message_channel_valid"),
            _choice_check("direction", Direction, "message_direction_valid"),
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_external_id_unique_per_channel",
            ),
            # Notes are internal and internal entries are notes.
            models.CheckConstraint(
                condition=(Q(channel=Channel.NOTE) & Q(direction=Direction.INTERNAL))
                | (~Q(channel=Channel.NOTE) & ~Q(direction=Direction.INTERNAL)),
                name="message_note_is_internal",
            ),
            models.CheckConstraint(
                condition=Q(author_contact__isnull=True) | Q(author_user__isnull=True),
                name="message_single_author",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_direction_display()} #{self.pk}"

    @property
    def author_name(self) -> str:
        """Return a display name for the author, whoever it is."""
        if self.author_user is not None:
            return self.author_user.get_full_name() or self.author_user.get_username()
        if self.author_contact_id:
            return str(self.author_contact)
        return self.metadata.get("from_name") or self.metadata.get("from") or "Unknown sender"


class Attachment(models.Model):
    """A file that came with (or was sent in) a message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=400)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    content_id = models.CharField(max_length=255, blank=True, help_text="For inline images (cid:).")
    is_inline = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    MESSAGE_ADDED = "message_added", "Message added"
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    DEPARTMENT_CHANGED = "department_changed", "Department changed"
    SEVERITY_CHANGED = "severity_changed", "Severity changed"
    MERGED = "merged", "Merged into another ticket"
    ABSORBED = "absorbed", "Another ticket merged in"
    UNMERGED = "unmerged", "Un-merged from its survivor"
    RELEASED = "released", "A merged ticket taken back out"
    SENDER_VERIFIED = "sender_verified", "Sender verified by an agent"
    TAGS_CHANGED = "tags_changed", "Tags changed"
    SPLIT = "split", "A message split off into a new ticket"
    PROBLEM_LINKED = "problem_linked", "Linked to a problem ticket"
    PROBLEM_UNLINKED = "problem_unlinked", "Unlinked from its problem ticket"
    INCIDENT_LINKED = "incident_linked", "An incident linked to this problem"


class TicketEvent(models.Model):
    """The history of a ticket: what changed, when, by whom. SLA clocks replay it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="ticketevent_history")]
        constraints = [_choice_check("kind", EventKind, "ticketevent_kind_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class TicketCounter(models.Model):
    """Issues ticket numbers on databases without sequences (SQLite); see numbering.py."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        verbose_name = "ticket number counter"

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
