"""Reads for the admin: a ticket's SLA status now, and the SLA report."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet

from .calendar_store import calendar_for
from .models import TARGET_LABELS, TARGETS, TicketSla


@dataclass(frozen=True)
class TargetStatus:
    name: str
    label: str
    target: str | None
    state: str  # on track | at risk | breached | paused | met | stopped | none
    due: datetime | None
    time_left: timedelta | None  # time from now to the deadline, on the clock that applies
    met_at: datetime | None
    clock: str = ""  # "business", "days_off" or "calendar" (sla.clocks)
    summary: str = ""

    @property
    def time_left_text(self) -> str:
        text = format_business(self.time_left)
        # A clock that started on a day off counts every hour: say so next to the figure.
        return f"{text} (calendar hours)" if self.time_left and self.clock != "business" else text


def target_statuses(sla: TicketSla, now: datetime) -> list[TargetStatus]:
    """Return each target's state as the admin shows it, with business time left."""
    cal = calendar_for(sla.calendar)
    targets = (sla.explanation or {}).get("targets", {})
    out = []
    for name in TARGETS:
        info = targets.get(name, {})
        due = _dt(info.get("due"))
        risk_at = _dt(info.get("risk_at"))
        raw = info.get("state", "none")
        breached = bool(info.get("breached")) or (
            raw in ("running", "paused") and due is not None and now >= due
        )
        if raw == "none" or not info.get("target"):
            state = "none"
        elif breached:
            state = "breached"
        elif raw == "running":
            state = "at risk" if risk_at is not None and now >= risk_at else "on track"
        else:
            state = raw
        clock = info.get("clock") or "business"
        time_left = None
        if due is not None and raw == "running":
            # A deadline in calendar hours (S1 on a weekend) runs while the office is closed:
            # business time left would read 0h 00m all weekend.
            time_left = cal.between(now, due) if clock == "business" else due - now
        out.append(
            TargetStatus(
                name=name,
                label=TARGET_LABELS[name],
                target=info.get("target"),
                state=state,
                due=due.astimezone(cal.zone) if due else None,
                time_left=time_left,
                met_at=_dt(info.get("met_at")),
                clock=clock,
                summary=info.get("summary", ""),
            )
        )
    return out


def overall_state(statuses: list[TargetStatus]) -> str:
    """Return the worst state among the targets (what a list row shows)."""
    states = {s.state for s in statuses}
    for state in ("breached", "at risk", "on track", "paused", "met", "stopped"):
        if state in states:
            return state
    return "none"


def format_business(delta: timedelta | None) -> str:
    if delta is None:
        return "–"
    sign = "-" if delta < timedelta(0) else ""
    minutes = int(abs(delta).total_seconds() // 60)
    return f"{sign}{minutes // 60}h {minutes % 60:02d}m"


@dataclass(frozen=True)
class ReportRow:
    key: str
    tickets: int
    with_target: int
    met: int
    median_first_response: timedelta | None

    @property
    def met_percent(self) -> float | None:
        return round(100 * self.met / self.with_target, 1) if self.with_target else None


REPORT_GROUPS = {
    "line": ("ticket__line__name", "Support line"),
    "department": ("ticket__department__name", "Department"),
    "channel": ("ticket__origin_channel", "Channel"),
    "policy": ("policy__name", "Policy"),
}


def sla_report(
    queryset: QuerySet[TicketSla], group: str, since: date | None, until: date | None
) -> list[ReportRow]:
    """Return per group: tickets started in the period, % of first responses met on time,
    the median first response in business time."""
    field, _ = REPORT_GROUPS.get(group, REPORT_GROUPS["department"])
    qs = _period(queryset, since, until)
    buckets: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"tickets": 0, "with_target": 0, "met": 0, "seconds": []}
    )
    rows = qs.values_list(
        field, "first_response_state", "first_response_breached", "first_response_seconds"
    )
    for key, state, breached, seconds in rows.iterator():
        bucket = buckets[key or "–"]
        bucket["tickets"] += 1
        # Decided: answered, or late already; clocks still running on time are left out.
        if state == "met" or breached:
            bucket["with_target"] += 1
            bucket["met"] += int(state == "met" and not breached)
        if seconds is not None:
            bucket["seconds"].append(seconds)
    return [
        ReportRow(
            key=key,
            tickets=b["tickets"],
            with_target=b["with_target"],
            met=b["met"],
            median_first_response=timedelta(seconds=statistics.median(b["seconds"]))
            if b["seconds"]
            else None,
        )
        for key, b in sorted(buckets.items())
    ]


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def without_policy(
    queryset: QuerySet[TicketSla], since: date | None, until: date | None
) -> list[dict[str, Any]]:
    """Return the live tickets of the period that no SLA policy matches (they have no
    deadlines: the report warns about them), at most 50, newest first."""
    qs = _period(queryset.filter(policy__isnull=True), since, until)
    return list(
        qs.exclude(ticket__status__in=("solved", "closed", "merged"))
        .order_by("-started_at")
        .values("ticket_id", "ticket__number", "ticket__subject", "explanation")[:50]
    )


def _period(qs: QuerySet[TicketSla], since: date | None, until: date | None) -> QuerySet:
    if since:
        qs = qs.filter(started_at__gte=datetime.combine(since, time(0), tzinfo=UTC))
    if until:
        qs = qs.filter(started_at__lt=datetime.combine(until, time(0), tzinfo=UTC) + timedelta(1))
    return qs


def sla_json(ticket: Any, now: datetime | None = None) -> dict[str, Any] | None:
    """Return the ticket's SLA as the API shows it: per target the due time (ISO 8601 with
    the calendar's offset), its state now, the policy and the explanation; None until the
    ticket's clocks are first computed."""
    from django.utils import timezone

    sla = TicketSla.objects.select_related("policy", "calendar").filter(ticket=ticket).first()
    if sla is None:
        return None
    explanation = sla.explanation or {}
    zone = explanation.get("time_zone") or "UTC"
    policy = explanation.get("policy")
    targets = []
    for status in target_statuses(sla, now or timezone.now()):
        if status.state == "none":
            continue
        targets.append(
            {
                "target": status.name,
                "promise": status.target,
                "due": status.due.isoformat() if status.due else None,
                "state": status.state,
                "policy": policy,
                "explanation": status.summary,
            }
        )
    return {
        "line": explanation.get("line", ""),
        "policy": policy,
        "why": explanation.get("match", {}).get("why", ""),
        "warning": explanation.get("warning", ""),
        "calendar": explanation.get("calendar", ""),
        "time_zone": zone,
        "targets": targets,
    }
