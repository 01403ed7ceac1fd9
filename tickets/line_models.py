"""Support lines: the organisation and brand a customer contacts, with its inboxes and texts.

One installation serves several lines (an e-commerce vendor's customer and technical
support in Moscow, a domain reseller's regional email lines, chat, phone and legal team in
CET). A ticket belongs to one line, set by the inbox it reached, the portal host or path,
or the API integration; its account, contacts, severity rules and SLA policy come from it.
Imported by ``tickets.models`` (Django finds the models there).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Language(models.TextChoices):
    EN = "en", "English"
    NL = "nl", "Nederlands"
    ES = "es", "Español"
    RU = "ru", "Русский"


# The channels a line can take (notes are internal, not a way in).
LINE_CHANNELS = ("email", "chat", "phone", "portal", "api")


class TextKey(models.TextChoices):
    """The texts a line may word its own way (else the standard, translated text)."""

    AUTO_REPLY = "auto_reply", "Auto-reply to a new ticket"
    VERIFICATION = "verification", "Reply to an unknown sender / missing reseller ID"
    REGISTRATION = "registration", "Reply to an unregistered sender (registered contacts only)"
    CUSTOMISATION = "customisation", "Answer to a customisation request (forum)"
    PORTAL_INTRO = "portal_intro", "Portal home page introduction"
    PORTAL_NOTICE = (
        "portal_notice",
        "Portal notice (e.g. ask non-urgent questions after the weekend)",
    )
    CSAT_QUESTION = "csat_question", "Satisfaction survey: the question (How did we do?)"
    CSAT_INTRO = (
        "csat_intro",
        "Satisfaction survey: the mail's first lines ({reference}, {subject}, {team})",
    )
    CSAT_THANKS = "csat_thanks", "Satisfaction survey: thanks for a rating"


class SupportLine(models.Model):
    """The organisation and brand a customer is contacting."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    organisation = models.CharField(
        max_length=150, blank=True, help_text="The brand customers see, e.g. in mail signatures."
    )
    is_default = models.BooleanField(
        default=False,
        help_text="Tickets that name no line (no inbox, host or integration of a line) get this.",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA name; customers' times are shown in it."
    )
    language = models.CharField(
        max_length=5, choices=Language.choices, default=Language.EN, help_text="Default language."
    )
    languages = models.JSONField(
        default=list, blank=True, help_text='Languages answered on this line, e.g. ["en", "nl"].'
    )
    channels = models.JSONField(
        default=list,
        blank=True,
        help_text='Ways in: any of "email", "chat", "phone", "portal", "api" (empty: all).',
    )
    phone_number = models.CharField(
        max_length=40, blank=True, help_text="Shown in the portal, e.g. +31 (0)10 4482299."
    )
    portal_host = models.CharField(
        max_length=200, blank=True, help_text="Host name whose portal is this line's."
    )
    requires_reseller_id = models.BooleanField(
        default=False,
        help_text="Mail must come from a registered address and quote the reseller ID; "
        "otherwise the ticket is held for verification and the sender is told so.",
    )
    chat_requires_reseller = models.BooleanField(
        default=False, help_text="Live chat only for contacts of a reseller account."
    )
    customisation_to_forum = models.BooleanField(
        default=False,
        help_text="Customisation requests (custom development, extra functionality, design "
        "changes) get the forum answer instead of a support ticket.",
    )
    severity_1_technical_only = models.BooleanField(
        default=True,
        help_text="Severity 1 (critical) only in a technical support department.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="line_one_default"
            ),
            models.UniqueConstraint(
                fields=["portal_host"], condition=~Q(portal_host=""), name="line_portal_host_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(self.time_zone)
        except Exception as exc:  # zoneinfo raises several types for a bad name
            raise ValidationError(
                {"time_zone": f"Unknown time zone {self.time_zone!r}; use e.g. Europe/Amsterdam."}
            ) from exc
        unknown = [c for c in self.channels or [] if c not in LINE_CHANNELS]
        if unknown:
            raise ValidationError(
                {"channels": f"Unknown channel(s) {unknown}: use {LINE_CHANNELS}."}
            )
        bad = [code for code in self.languages or [] if code not in Language.values]
        if bad:
            raise ValidationError(
                {"languages": f"Unknown language(s) {bad}: use {Language.values}."}
            )
        self.portal_host = (self.portal_host or "").strip().lower()

    def takes(self, channel: str) -> bool:
        """Return whether customers may reach this line through ``channel``."""
        return channel == "note" or not self.channels or channel in self.channels

    @property
    def answered_languages(self) -> list[str]:
        """Return the line's languages, its default first."""
        return list(dict.fromkeys([self.language, *(self.languages or [])]))


class LineInbox(models.Model):
    """An address of a line: mail to it opens tickets of the line, in its language."""

    line = models.ForeignKey(SupportLine, on_delete=models.CASCADE, related_name="inboxes")
    email = models.EmailField(unique=True)
    label = models.CharField(max_length=100, blank=True, help_text="e.g. Netherlands support line")
    department = models.ForeignKey(
        "tickets.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: the line's customer support department.",
    )
    language = models.CharField(max_length=5, choices=Language.choices, blank=True)

    class Meta:
        ordering = ["line", "email"]
        verbose_name = "inbox"
        verbose_name_plural = "inboxes"

    def __str__(self) -> str:
        return f"{self.label or self.email} ({self.line})"

    def clean(self) -> None:
        self.email = (self.email or "").strip().lower()
        if self.department is not None and self.department.line_id not in (None, self.line_id):
            raise ValidationError({"department": "Choose a department of this line."})


class LineText(models.Model):
    """A text of the line in one language; the standard translated text applies otherwise."""

    line = models.ForeignKey(SupportLine, on_delete=models.CASCADE, related_name="texts")
    key = models.CharField(max_length=20, choices=TextKey.choices)
    language = models.CharField(max_length=5, choices=Language.choices)
    text = models.TextField()

    class Meta:
        ordering = ["line", "key", "language"]
        constraints = [
            models.UniqueConstraint(fields=["line", "key", "language"], name="line_text_unique")
        ]

    def __str__(self) -> str:
        return f"{self.line}: {self.get_key_display()} ({self.language})"
