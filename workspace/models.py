"""What the agents' workspace keeps besides tickets: agent profiles, the list read model,
saved views, macros and notifications.

``TicketRow`` is the workspace's read model of a ticket: exactly the columns its lists
filter and sort on, with the SLA due copied from ``sla.TicketSla``, so every built-in view
is one index range scan (``WHERE <view filter> ORDER BY due_sort, ticket_id``) however many
tickets the desk holds. It is rebuilt from the source rows by ``workspace.rows`` whenever
a ticket event or an SLA recompute commits; nothing else writes it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Account, Contact, Department, Tag, Ticket

# Rows without a running SLA target sort after every real deadline.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)
UNSOLVED = Q(unsolved=True)


def default_email_kinds() -> list[str]:
    """What a new agent gets by email besides the workspace: their own tickets' news."""
    return ["assigned", "customer_reply", "mention"]


class AgentProfile(models.Model):
    """An agent's own settings: zone, language, signature and notification choices."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_profile"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Amsterdam", help_text=_("IANA name")
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    signature = models.TextField(_("signature"), blank=True)
    # Kinds of notification (NotificationKind) this agent does not want in the workspace,
    # and those also sent to them by email (workspace.notify.MAILED_KINDS at most).
    muted_kinds = models.JSONField(default=list, blank=True)
    email_kinds = models.JSONField(default=default_email_kinds, blank=True)
    sound = models.BooleanField(_("sound"), default=True)
    browser_notifications = models.BooleanField(_("browser notifications"), default=True)

    def __str__(self) -> str:
        return f"profile of {self.user}"


class TicketRow(models.Model):
    """One ticket as the workspace lists see it (a read model; see the module docstring)."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="desk_row"
    )
    number = models.BigIntegerField()
    subject = models.CharField(max_length=255)
    status = models.CharField(max_length=20)
    # new, open, pending customer or on hold: what working views show (partial indexes).
    unsolved = models.BooleanField()
    severity = models.PositiveSmallIntegerField()
    # Plain pointers (no database constraint): the row follows the ticket, it guards nothing.
    department = models.ForeignKey(
        Department, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    account = models.ForeignKey(
        Account, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    line_id = models.BigIntegerField(null=True)
    origin_channel = models.CharField(max_length=10)
    needs_verification = models.BooleanField(default=False)
    sla_due = models.DateTimeField(null=True)
    sla_risk_at = models.DateTimeField(null=True)
    # The at-risk moment has passed: set by the refresh, and by the minute beat
    # (rows.risk_reached_mark) for rows that reach it with nothing else changing, so
    # "At risk" is one index range (due still ahead) however many tickets breached.
    sla_risk_reached = models.BooleanField(default=False)
    # An unsolved ticket with a suggested duplicate flag (refreshed with the row, on a
    # flag's save, and by the minute beat for flags filed in bulk).
    possible_duplicate = models.BooleanField(default=False)
    due_sort = models.DateTimeField(default=NO_DUE)
    last_activity_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["due_sort", "ticket"], name="ws_row_due", condition=UNSOLVED),
            models.Index(
                fields=["assignee", "due_sort", "ticket"],
                name="ws_row_assignee_due",
                condition=UNSOLVED,
            ),
            models.Index(
                fields=["department", "due_sort", "ticket"],
                name="ws_row_department_due",
                condition=UNSOLVED,
            ),
            models.Index(
                fields=["line_id", "due_sort", "ticket"], name="ws_row_line_due", condition=UNSOLVED
            ),
            models.Index(
                fields=["status", "due_sort", "ticket"],
                name="ws_row_status_due",
                condition=UNSOLVED,
            ),
            # A saved view of one severity (the desk's "Technical S1": 3 % of the unsolved
            # rows) walked the due index past ~2,400 other rows for a page.
            models.Index(
                fields=["severity", "due_sort", "ticket"],
                name="ws_row_severity_due",
                condition=UNSOLVED,
            ),
            models.Index(
                fields=["due_sort", "ticket"],
                name="ws_row_verify_due",
                condition=UNSOLVED & Q(needs_verification=True),
            ),
            models.Index(
                fields=["due_sort", "ticket"],
                name="ws_row_at_risk_due",
                condition=UNSOLVED & Q(sla_risk_reached=True),
            ),
            models.Index(
                fields=["due_sort", "ticket"],
                name="ws_row_duplicate_due",
                condition=UNSOLVED & Q(possible_duplicate=True),
            ),
            # Solved tickets are in no built-in view but a saved view may ask for them.
            models.Index(
                fields=["due_sort", "ticket"],
                name="ws_row_solved_due",
                condition=Q(status="solved"),
            ),
            # What the minute beat looks at: rows whose at-risk moment is still ahead.
            models.Index(
                fields=["sla_risk_at"],
                name="ws_row_risk_ahead",
                condition=UNSOLVED & Q(sla_risk_reached=False),
            ),
            models.Index(fields=["contact", "status"], name="ws_row_contact"),
        ]

    def __str__(self) -> str:
        return f"row of ticket {self.ticket_id}"


class TicketRowTag(models.Model):
    """One tag of one unsolved ticket, with the ticket's ``due_sort`` (a read model beside
    ``TicketRow``, written with it by ``workspace.rows``).

    A tag view is then one range of ``(tag, due_sort, ticket)``, like a department's view,
    and its count a few index entries: filtering the unsolved rows by the tag's tickets
    walked past every untagged row until a page filled (2,400 rows, 635 buffers for a tag
    on 2 % of the unsolved tickets at 1,000,000; 1,389 for its count). Solved tickets'
    tags stay out: working views never show them, and a saved view that asks for solved
    tickets filters ``TicketRow`` by ``tickets_ticket_tags`` as before.
    """

    pk = models.CompositePrimaryKey("ticket_id", "tag_id")
    # Plain pointers, deleted with their ticket or tag by Django (the row refresh drops
    # those of a ticket solved, untagged or deleted).
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    tag = models.ForeignKey(
        Tag, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    due_sort = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tag", "due_sort", "ticket"], name="ws_rowtag_due")]

    def __str__(self) -> str:
        return f"tag {self.tag_id} of ticket {self.ticket_id}"


class SavedView(models.Model):
    """A list an agent saved: filters and columns, for themself or the whole desk."""

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_views"
    )
    shared = models.BooleanField(_("shared with every agent"), default=False)
    # See workspace.queues.ViewFilters for the keys.
    filters = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name", "id"]
        indexes = [models.Index(fields=["owner", "shared"], name="ws_savedview_owner")]

    def __str__(self) -> str:
        return self.name


class Macro(models.Model):
    """Canned text with placeholders, plus actions applied with it (status, assignee, tags)."""

    class Assign(models.TextChoices):
        KEEP = "", _("Keep the assignee")
        ME = "me", _("Assign to me")
        NOBODY = "nobody", _("Unassign")

    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(
        _("text"),
        blank=True,
        help_text=_(
            "Placeholders: {customer_name}, {ticket_number}, {reseller_id}, {account_name}, "
            "{agent_name}, {subject}."
        ),
    )
    language = models.CharField(
        _("language"), max_length=8, blank=True, help_text=_("Empty: any language.")
    )
    line = models.ForeignKey(
        "tickets.SupportLine",
        verbose_name=_("support line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: every line."),
    )
    set_status = models.CharField(_("set status"), max_length=20, blank=True)
    assign = models.CharField(
        _("assignee"), max_length=8, choices=Assign.choices, default=Assign.KEEP, blank=True
    )
    add_tags = models.CharField(_("add tags"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to me")
    CUSTOMER_REPLY = "customer_reply", _("Customer replied on my ticket")
    MENTION = "mention", _("Mentioned in a note")
    SLA_AT_RISK = "sla_at_risk", _("SLA at risk on my ticket")
    SLA_BREACHED = "sla_breached", _("SLA breached on my ticket")
    CHAT_WAITING = "chat_waiting", _("New chat waiting")
    MAILBOX_ALERT = "mailbox_alert", _("A mailbox stopped or recovered")


# The kinds the workspace also mails (as each agent chooses); SLA alerts are mailed by the
# SLA checks to the assignee and the department's list (sla.scan), not twice.
MAILED_KINDS = (
    NotificationKind.ASSIGNED,
    NotificationKind.CUSTOMER_REPLY,
    NotificationKind.MENTION,
    NotificationKind.CHAT_WAITING,
)


class Notification(models.Model):
    """Something an agent should know about, shown in the workspace (and mailed)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_notifications"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(max_length=300)
    # What it is about, so the same thing is not announced twice (an event, an alert…).
    source = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # False for a kind the agent muted in the workspace (kept, read, so a mail copy is
    # still sent once per source).
    in_workspace = models.BooleanField(default=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-id"], name="ws_notif_unread", condition=Q(read_at=None)
            ),
            models.Index(fields=["recipient", "-id"], name="ws_notif_recipient"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "source"], name="ws_notif_once"),
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values), name="ws_notif_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.text
