"""What the dashboards and reports read: one fact row per ticket and daily rollups.

``TicketFact`` holds what one ticket contributes to the figures (``contributions``: a list
of ``[day, line, department, channel, agent, excluded, metric, value]``), so that when the
ticket changes, the rollups change by exactly new − old (``reports.facts``).
``DailyFigure`` sums those per day and dimension; the dashboards read only it (and the
facts of open tickets for "now": backlog and load).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tickets.models import Ticket

UNSOLVED = ("new", "open", "pending_customer", "on_hold")


class TicketFact(models.Model):
    """One ticket's dimensions now and what it adds to the daily figures."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    line_id = models.IntegerField(default=0)  # 0: the desk has no support lines
    department_id = models.IntegerField(default=0)
    status = models.CharField(max_length=20, default="")
    assignee_id = models.IntegerField(default=0)
    created_at = models.DateTimeField(null=True)
    excluded = models.BooleanField(
        default=False, help_text="Cloned by the customer or merged: left out by default."
    )
    last_day = models.DateField(null=True, help_text="The latest day it contributes to.")
    contributions = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["last_day"], name="reports_fact_last_day"),
            models.Index(
                fields=["line_id", "status", "created_at"],
                name="reports_fact_line_backlog",
                condition=Q(status__in=UNSOLVED, excluded=False),
            ),
            models.Index(
                fields=["department_id", "status", "created_at"],
                name="reports_fact_dept_backlog",
                condition=Q(status__in=UNSOLVED, excluded=False),
            ),
            models.Index(
                fields=["assignee_id"],
                name="reports_fact_load",
                condition=Q(status__in=UNSOLVED, excluded=False),
            ),
        ]

    def __str__(self) -> str:
        return f"figures of ticket #{self.ticket_id}"


# A daily figure's dimensions after its day: with the day, its unique key; all of them (and
# the value) are in the dashboard's covering index.
DAILY_DIMENSIONS = ["line_id", "department_id", "channel", "agent_id", "excluded", "metric"]


class DailyFigure(models.Model):
    """The sum of one metric for one day and dimension (days in the report zone)."""

    day = models.DateField()
    line_id = models.IntegerField(default=0)
    department_id = models.IntegerField(default=0)
    channel = models.CharField(max_length=10, default="")
    agent_id = models.IntegerField(default=0)
    excluded = models.BooleanField(default=False)
    metric = models.CharField(max_length=32)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", *DAILY_DIMENSIONS], name="reports_daily_key")
        ]
        indexes = [
            # Whole-desk ranges use the unique key, which starts with the day.
            models.Index(fields=["line_id", "day"], name="reports_daily_line"),
            models.Index(fields=["department_id", "day"], name="reports_daily_department"),
            # The dashboard's sums read every column of eight weeks' rows: from this index
            # alone (an index-only scan), not from the ~1,600 table pages they are spread
            # over by the day's upserts.
            models.Index(
                fields=["day"], include=[*DAILY_DIMENSIONS, "value"], name="reports_daily_sums"
            ),
        ]
        permissions = [("view_dashboard", "Can see dashboards and reports")]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}={self.value}"


class OpenFigure(models.Model):
    """How many tickets are open now (unsolved, not excluded), per line, department,
    status, assignee and hour created (UTC): the dashboards' backlog and load, read from
    a few thousand rows instead of every open ticket's fact. Kept with the facts, in the
    same transaction (``reports.facts``); rows that reach zero are deleted."""

    line_id = models.IntegerField(default=0)
    department_id = models.IntegerField(default=0)
    status = models.CharField(max_length=20)
    assignee_id = models.IntegerField(default=0)
    created_hour = models.DateTimeField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["line_id", "department_id", "status", "assignee_id", "created_hour"],
                name="reports_open_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.created_hour:%Y-%m-%d %H}h ={self.value}"
