"""The figures computed straight from the source tables, written apart from the rollups'
own code: what every rollup is compared with."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from csat.models import Survey
from duplicates.models import DuplicateFlag
from reports.contributions import FRT_EDGES_MINUTES
from sla.models import TicketSla
from tickets.models import EventKind, Message, Ticket, TicketEvent

Row = tuple[str, int, int, str, int, bool, str]


def _day(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(settings.SUPPORTDESK_REPORT_TIME_ZONE)).date().isoformat()


def _bucket(seconds: int) -> str:
    minutes = seconds / 60
    index = 0
    while index < len(FRT_EDGES_MINUTES) and FRT_EDGES_MINUTES[index] <= minutes:
        index += 1
    return f"frt_{index:02d}"


def direct_figures() -> Counter[Row]:
    """Return every ticket figure, by day and dimension, from the source tables."""
    out: Counter[Row] = Counter()
    tickets = {t.pk: t for t in Ticket.objects.all()}

    def dims(t: Ticket) -> tuple[int, int, bool]:
        excluded = t.cloned_by_customer or t.status == "merged"
        return getattr(t, "line_id", None) or 0, t.department_id, excluded

    for t in tickets.values():
        line, dept, excl = dims(t)
        out[(_day(t.created_at), line, dept, t.origin_channel, 0, excl, "created")] += 1
        if t.solved_at and t.status in ("solved", "closed"):
            out[(_day(t.solved_at), line, dept, t.origin_channel, 0, excl, "solved")] += 1
            if t.assignee_id:
                out[(_day(t.solved_at), line, dept, "", t.assignee_id, excl, "solved_by")] += 1
    for sla in TicketSla.objects.all():
        t = tickets[sla.ticket_id]
        line, dept, excl = dims(t)
        for target, short in (("first_response", "fr"), ("resolution", "res")):
            due = getattr(sla, f"{target}_due")
            done = getattr(sla, f"{target}_at")
            breached = getattr(sla, f"{target}_breached")
            if due is None or not (breached or done):
                continue
            day = _day(due if breached else done)
            out[(day, line, dept, "", 0, excl, f"{short}_total")] += 1
            outcome = f"{short}_breached" if breached else f"{short}_met"
            out[(day, line, dept, "", 0, excl, outcome)] += 1
        if sla.first_response_seconds is not None and sla.first_response_at is not None:
            bucket = _bucket(sla.first_response_seconds)
            out[(_day(sla.first_response_at), line, dept, "", 0, excl, bucket)] += 1
    for m in Message.objects.filter(direction="outbound", author_user__isnull=False):
        line, dept, excl = dims(tickets[m.ticket_id])
        out[(_day(m.occurred_at), line, dept, "", m.author_user_id, excl, "replies")] += 1
    for flag in DuplicateFlag.objects.all():
        t = tickets[flag.ticket_id]
        line, dept, excl = dims(t)
        out[(_day(flag.created_at), line, dept, "", 0, excl, "dup_flagged")] += 1
    for t in tickets.values():
        if t.status == "merged":
            merge = TicketEvent.objects.filter(ticket=t, kind=EventKind.MERGED).latest("pk")
            line, dept, excl = dims(t)
            out[(_day(merge.created_at), line, dept, "", 0, excl, "merged")] += 1
    for survey in Survey.objects.exclude(rating=None):
        t = tickets[survey.ticket_id]
        line, dept, excl = dims(t)
        key = (_day(survey.rated_at), line, dept, "", 0, excl)
        out[(*key, f"csat_{survey.rating}")] += 1
    return Counter({k: v for k, v in out.items() if v})  # negatives stay: they are bugs


def rollup_figures() -> Counter[Row]:
    """Return the daily figures the dashboards read (ticket figures only, zeros left out)."""
    from reports.models import DailyFigure

    out: Counter[Row] = Counter()
    for f in DailyFigure.objects.exclude(metric__startswith="backlog_").exclude(
        metric__startswith="kb_"
    ):
        key = (f.day.isoformat(), f.line_id, f.department_id, f.channel, f.agent_id)
        out[(*key, f.excluded, f.metric)] += f.value
    return Counter({k: v for k, v in out.items() if v})  # negatives stay: they are bugs


UNSOLVED = ("new", "open", "pending_customer", "on_hold")
AGES = (("lt1d", 1), ("1to3d", 3), ("3to7d", 7), ("7to30d", 30), ("gt30d", None))


def direct_open(now: datetime) -> tuple[dict[str, dict[str, int]], dict[int, int]]:
    """Return the open tickets at ``now`` per status and age, and per assignee, straight
    from the tickets (cloned by the customer and merged left out)."""
    from datetime import timedelta

    by_age = {s: dict.fromkeys((k for k, _ in AGES), 0) for s in UNSOLVED}
    load: Counter[int] = Counter()
    for t in Ticket.objects.filter(status__in=UNSOLVED, cloned_by_customer=False):
        for key, upper in AGES:  # the first bucket whose lower edge the ticket is past
            if upper is None or t.created_at > now - timedelta(days=upper):
                by_age[t.status][key] += 1
                break
        if t.assignee_id:
            load[t.assignee_id] += 1
    return by_age, dict(load)
