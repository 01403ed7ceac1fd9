"""Business calendars, SLA policies and the per-ticket SLA state.

Models hold data and database rules only. Calendars become `sla.calendar.CalendarMath`
objects in `sla.calendar_store`; policies are chosen and clocks replayed in `sla.clocks` and
`sla.services`; `sla.scan` raises at-risk and breach alerts.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tickets.models import Channel, Department, Severity, SupportLine, Ticket, Tier


class ExceptionKind(models.TextChoices):
    CLOSED = "closed", "Closed all day"
    EXTRA = "extra", "Extra working day"
    SPECIAL = "special", "Special hours"


class ExceptionSource(models.TextChoices):
    HOLIDAYS = "holidays", "Public holidays (holidays package)"
    MANUAL = "manual", "Manual (company day off / special hours)"


class Unit(models.TextChoices):
    BUSINESS_HOURS = "business_hours", "Business hours"
    WORKING_DAYS = "working_days", "Working days"
    CALENDAR_HOURS = "calendar_hours", "Calendar hours"


class TargetState(models.TextChoices):
    NONE = "none", "No target"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    STOPPED = "stopped", "Stopped (merged, solved or closed)"


class AlertKind(models.TextChoices):
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"


TARGETS = ("first_response", "next_response", "resolution")
TARGET_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}


class BusinessCalendar(models.Model):
    """Opening hours of one team, with holidays from the `holidays` package and manual days.

    `weekly_hours` maps a weekday ("0" is Monday) to a list of ["HH:MM", "HH:MM"] open
    intervals; an interval ending at midnight ends "00:00". `version` changes whenever the
    hours or the exceptions change, so built calendars are cached per (id, version).
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    tz = models.CharField("time zone", max_length=64, help_text="IANA name, e.g. Europe/Moscow.")
    weekly_hours = models.JSONField(
        default=dict,
        help_text='Weekday (0 = Monday) → open intervals, e.g. {"0": [["07:00", "17:00"]]}.',
    )
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text="ISO country code for public holidays (RU, NL)."
    )
    short_day_before_holiday = models.BooleanField(
        default=False,
        help_text="Close one hour earlier on the working day right before a public holiday "
        "(the Russian production calendar rule).",
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from zoneinfo import ZoneInfo

        from .calendar_store import parse_weekly  # local: calendar_store imports this module

        try:
            ZoneInfo(self.tz)
        except Exception as exc:  # zoneinfo raises several types for a bad name
            raise ValidationError(
                {"tz": f"Unknown time zone {self.tz!r}; use an IANA name like Europe/Moscow."}
            ) from exc
        try:
            parse_weekly(self.weekly_hours)
        except ValueError as exc:
            raise ValidationError({"weekly_hours": str(exc)}) from exc


class CalendarException(models.Model):
    """One dated exception: a closed date, an extra working date or special hours."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions"
    )
    date = models.DateField()
    kind = models.CharField(max_length=8, choices=ExceptionKind.choices)
    hours = models.JSONField(
        default=list, blank=True, help_text='Open intervals for extra/special, [["07:00","16:00"]].'
    )
    source = models.CharField(
        max_length=8, choices=ExceptionSource.choices, default=ExceptionSource.MANUAL
    )
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date", "source"], name="sla_exception_one_per_source"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ExceptionKind.values), name="sla_exception_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()

    def clean(self) -> None:
        from .calendar_store import parse_hours

        try:
            hours = parse_hours(self.hours, f"hours of {self.date}")
        except ValueError as exc:
            raise ValidationError({"hours": str(exc)}) from exc
        if self.kind == ExceptionKind.EXTRA and not hours:
            raise ValidationError({"hours": "An extra working day needs its opening hours."})


class DepartmentCalendar(models.Model):
    """The calendar a department works by (policies may name another one)."""

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="sla_calendar"
    )
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")
    notify_emails = models.TextField(
        blank=True,
        help_text="Comma-separated addresses told about at-risk and breached tickets of this "
        "department (not its inbox: that would open tickets).",
    )

    def __str__(self) -> str:
        return f"{self.department} → {self.calendar}"

    @property
    def notify_list(self) -> list[str]:
        return [a.strip() for a in self.notify_emails.split(",") if a.strip()]


class LineCalendar(models.Model):
    """A support line's calendars: the one its SLA clocks use when neither the policy nor
    the department names one, and the hours its live chat and phone are staffed."""

    line = models.OneToOneField(SupportLine, on_delete=models.CASCADE, related_name="calendars")
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The line's business hours for SLA clocks (after the policy's and the "
        "department's).",
    )
    chat_phone_calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="When live chat and the phone line are staffed (the portal shows it).",
    )

    class Meta:
        verbose_name = "line calendars"
        verbose_name_plural = "line calendars"

    def __str__(self) -> str:
        return f"Calendars of {self.line}"


class SlaPolicy(models.Model):
    """Targets for tickets matching line, department, channel, severity and account tier.

    An empty criterion matches anything. Resolution is explicit: line, then department,
    then channel, then severity (then tier), most specific first (``sla.policies``); a
    policy that would win over another where both match, without refining it, must say so
    in ``takes_precedence_over`` (the admin refuses it otherwise). Each target is an amount
    in a unit; a target may also give ``*_closed_hours``: calendar hours that apply when
    the clock starts on a day off (weekend or public holiday, all day local time) — the
    earlier of the two deadlines counts.
    """

    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(
        default=100, help_text="Breaks ties between policies with the same criteria (lower wins)."
    )
    line = models.ForeignKey(
        SupportLine,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: every support line.",
    )
    takes_precedence_over = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="+",
        help_text="Policies this one deliberately wins over where both match (required when "
        "they overlap and neither refines the other).",
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, null=True, blank=True)
    account_tier = models.CharField(max_length=16, choices=Tier.choices, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: the ticket department's calendar.",
    )
    first_response_amount = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True
    )
    first_response_unit = models.CharField(
        max_length=16, choices=Unit.choices, default=Unit.BUSINESS_HOURS
    )
    first_response_closed_hours = models.DecimalField(
        "calendar hours on days off",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="When the clock starts on a day off (weekend, public holiday): these "
        "calendar hours, if earlier than the business-time deadline.",
    )
    next_response_amount = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True
    )
    next_response_unit = models.CharField(
        max_length=16, choices=Unit.choices, default=Unit.BUSINESS_HOURS
    )
    next_response_closed_hours = models.DecimalField(
        "calendar hours on days off",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="When the clock starts on a day off (weekend, public holiday): these "
        "calendar hours, if earlier than the business-time deadline.",
    )
    resolution_amount = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    resolution_unit = models.CharField(
        max_length=16, choices=Unit.choices, default=Unit.BUSINESS_HOURS
    )
    resolution_closed_hours = models.DecimalField(
        "calendar hours on days off",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="When the clock starts on a day off (weekend, public holiday): these "
        "calendar hours, if earlier than the business-time deadline.",
    )
    escalate_to = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="On a breach, hand the ticket to this department (second line).",
    )
    description = models.TextField(blank=True, help_text="The promise, as told to customers.")

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        for target in TARGETS:
            amount = getattr(self, f"{target}_amount")
            unit = getattr(self, f"{target}_unit")
            if amount is not None and amount <= 0:
                raise ValidationError({f"{target}_amount": "Give a positive amount or none."})
            if unit == Unit.WORKING_DAYS and amount is not None and amount != int(amount):
                raise ValidationError({f"{target}_amount": "Working days are whole numbers."})

    @property
    def rank(self) -> tuple[bool, bool, bool, bool, bool]:
        """Return which criteria are set, in resolution order (more specific sorts higher)."""
        return (
            self.line_id is not None,
            self.department_id is not None,
            bool(self.channel),
            self.severity is not None,
            bool(self.account_tier),
        )


class TicketSla(models.Model):
    """The SLA clocks of one ticket, recomputed from its history by `sla.services`.

    The deadline columns are what lists and reports read; `next_check_at` is the one the
    beat scan reads: the earliest pending at-risk or breach moment of a running target,
    NULL when nothing is pending (closed, solved, merged, paused or all alerts raised), so
    the partial index on it holds only live tickets.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="sla"
    )
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    first_response_due = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_state = models.CharField(
        max_length=8, choices=TargetState.choices, default=TargetState.NONE
    )
    first_response_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Business seconds from start to the first response."
    )
    next_response_due = models.DateTimeField(null=True, blank=True)
    next_response_state = models.CharField(
        max_length=8, choices=TargetState.choices, default=TargetState.NONE
    )
    resolution_due = models.DateTimeField(null=True, blank=True)
    resolution_at = models.DateTimeField(null=True, blank=True)
    resolution_state = models.CharField(
        max_length=8, choices=TargetState.choices, default=TargetState.NONE
    )
    paused = models.BooleanField(default=False)
    first_response_breached = models.BooleanField(default=False)
    next_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)
    breached_at = models.DateTimeField(null=True, blank=True, help_text="First breach, if any.")
    next_check_at = models.DateTimeField(null=True, blank=True)
    explanation = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)
    # The ticket's latest event when these were computed: the beat scan acts only on
    # deadlines computed from the ticket's latest event (else it recomputes first).
    computed_from_event = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "ticket SLA"
        verbose_name_plural = "ticket SLAs"
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="sla_next_check_live",
                condition=Q(next_check_at__isnull=False),
            ),
            models.Index(
                fields=["first_response_due"],
                name="sla_first_due_running",
                condition=Q(first_response_state="running"),
            ),
            models.Index(
                fields=["next_response_due"],
                name="sla_next_due_running",
                condition=Q(next_response_state="running"),
            ),
            models.Index(
                fields=["resolution_due"],
                name="sla_resolution_due_running",
                condition=Q(resolution_state="running"),
            ),
            models.Index(fields=["started_at"], name="sla_started"),
        ]

    def __str__(self) -> str:
        return f"SLA of ticket #{self.ticket_id}"


class SlaAlert(models.Model):
    """An at-risk warning or a breach, recorded once per ticket, target and deadline."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_alerts")
    target = models.CharField(max_length=16)
    kind = models.CharField(max_length=8, choices=AlertKind.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    notified = models.JSONField(default=list, blank=True, help_text="Addresses notified.")
    escalated_to = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "SLA alert"
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "target", "kind", "due_at"], name="sla_alert_once"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AlertKind.values), name="sla_alert_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {TARGET_LABELS.get(self.target, self.target)}"


class LookupsStamp(models.Model):
    """One row whose ``stamp`` changes, in the same transaction, with every write to the
    tables the recompute's ``SlaLookups`` are read from (policies, calendars, their links
    to departments and lines, departments, lines): database triggers write it
    (migration 0006), so queryset updates, raw SQL and other processes are seen too. A
    stamp is random, never a counter: one a rolled-back transaction wrote never comes back
    with other rows. A process keeps the lookups it read under the stamp it read them at
    (``services.SlaLookups.load``)."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    stamp = models.CharField(max_length=64)

    class Meta:
        verbose_name = "SLA lookups stamp"

    def __str__(self) -> str:
        return f"SLA lookups stamp {self.stamp}"
