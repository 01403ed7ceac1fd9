"""Why each deadline is what it is, stored with the deadlines (``TicketSla.explanation``).

Every target names the ticket's support line, the policy that matched and why, the clock
that applied (the calendar's business hours, or calendar hours because it started on a
day off), and the days and hours it counted, holidays and shortened days named. A ticket
no policy matches gets a warning instead of silently having no deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from tickets.models import Ticket

from .calendar import CalendarMath
from .clocks import BUSINESS, CALENDAR, DAYS_OFF, Clock, History, Target
from .models import TARGET_LABELS, BusinessCalendar
from .policies import Resolution

EXPLAINED_DAYS = 62  # list exceptions (holidays, short days) up to this far per clock


@dataclass(frozen=True)
class Explained:
    """Everything the explanation of one ticket's clocks is made from."""

    ticket: Ticket
    resolution: Resolution
    row: BusinessCalendar | None
    cal: CalendarMath
    targets: dict[str, Target | None]
    clocks: dict[str, Clock]
    escalations: list[dict[str, Any]]
    history: History
    names: dict[date, str]


def explain(x: Explained) -> dict[str, Any]:
    """Return the explanation record (JSON) of the ticket's deadlines."""
    policy = x.resolution.policy
    line = str(x.ticket.line) if x.ticket.line_id else ""
    calendar = x.row.name if x.row else "always open (no calendar configured)"
    out: dict[str, Any] = {
        "line": line,
        "policy": policy.name if policy else None,
        "policy_id": policy.pk if policy else None,
        "match": x.resolution.explain(),
        "calendar": calendar,
        "time_zone": x.cal.zone.key,
        "started_at": iso(x.history.start),
        "escalations": x.escalations,
        "targets": {},
    }
    if policy is None:
        out["warning"] = out["match"]["warning"]
    for name, clock in x.clocks.items():
        target = x.targets[name]
        info: dict[str, Any] = {
            "target": target.describe() if target else None,
            "state": clock.state,
            "started_at": iso(clock.started_at),
            "due": iso(clock.due),
            "risk_at": iso(clock.risk_at),
            "met_at": iso(clock.met_at),
            "breached": clock.breached,
            "pauses": [[iso(a), iso(b)] for a, b in clock.pauses],
            "notes": clock.notes,
            "clock": clock.applied,
        }
        if clock.started_at is not None and target is not None:
            end = clock.due or clock.met_at or clock.started_at
            info["days"] = days(x.cal, clock.started_at, end, x.names)
            info["summary"] = summary(
                TARGET_LABELS[name], line, policy.name if policy else "", calendar, x.cal,
                target, clock, info["days"],
            )  # fmt: skip
        out["targets"][name] = info
    return out


def clock_text(clock: Clock, target: Target, calendar: str, cal: CalendarMath) -> str:
    """Return which clock applied, in words."""
    if clock.applied == DAYS_OFF and target.closed_hours is not None:  # always set then
        return (
            f"{target.closed_hours.normalize():f} calendar hours, because it started on a day "
            f"off ({calendar} is closed all day)"
        )
    if clock.applied == CALENDAR:
        return "calendar hours (every hour counts)"
    if clock.applied == BUSINESS or not clock.applied:
        return f"business hours of {calendar} ({cal.zone.key})"
    return clock.applied


def summary(
    label: str,
    line: str,
    policy: str,
    calendar: str,
    cal: CalendarMath,
    target: Target,
    clock: Clock,
    counted: list[dict[str, Any]],
) -> str:
    """Return one sentence: line, policy, clock, the days and hours counted, the deadline."""
    open_days = [
        f"{d['weekday']} {d['date']} {d['hours']}" + (f" ({d['why']})" if d["why"] else "")
        for d in counted
        if d["hours"] != "closed"
    ]
    closed = [
        f"{d['weekday']} {d['date']}" + (f" ({d['why']})" if d["why"] else "")
        for d in counted
        if d["hours"] == "closed"
    ]
    due = (
        f"due {clock.due.astimezone(cal.zone):%a %Y-%m-%d %H:%M} {cal.zone.key}"
        if clock.due
        else "no deadline while paused"
    )
    parts = [
        f"{label}: {target.describe()} on line {line or '–'} under “{policy}”",
        f"clock: {clock_text(clock, target, calendar, cal)}",
    ]
    if clock.applied != DAYS_OFF and target.unit != "calendar_hours":
        parts.append("counted " + ("; ".join(open_days) or "no open hours"))
        if closed:
            parts.append("closed " + ", ".join(closed))
    parts.append(due)
    return "; ".join(parts) + "."


def days(
    cal: CalendarMath, start: datetime, end: datetime, names: dict[date, str]
) -> list[dict[str, Any]]:
    """Return each local date from start to end with its hours and why they differ."""
    first = start.astimezone(cal.zone).date()
    last = min(end.astimezone(cal.zone).date(), first + timedelta(days=EXPLAINED_DAYS))
    out = []
    day = first
    while day <= last:
        iso_date, weekday, hours = _day_text(cal, day)
        out.append(
            {"date": iso_date, "weekday": weekday, "hours": hours, "why": names.get(day, "")}
        )
        day += timedelta(days=1)
    return out


@lru_cache(maxsize=4096)
def _day_text(cal: CalendarMath, day: date) -> tuple[str, str, str]:
    # A batch's tickets start on the same few days: formatted once a calendar and day
    # (``calendar_for`` keeps one CalendarMath per calendar version, so it is the key).
    hours = cal.hours_on(day)
    return (
        day.isoformat(),
        day.strftime("%a"),
        ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in hours) or "closed",
    )


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None
