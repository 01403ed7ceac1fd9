"""Why each deadline is what it is, stored with the deadlines (``TicketSla.explanation``).

Every target names the ticket's support line, the policy that matched and why, the clock
that applied (the calendar's business hours, or calendar hours because it started on a
day off), and the days and hours it counted, holidays and shortened days named. A ticket
no policy matches gets a warning instead of silently having no deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from tickets.models import Ticket

from .calendar import CalendarMath
from .clocks import BUSINESS, CALENDAR, DAYS_OFF, Clock, History, Target
from .models import TARGET_LABELS, BusinessCalendar
from .policies import Resolution

EXPLAINED_DAYS = 62  # list exceptions (holidays, short days) up to this far per clock
MEMO_LIMIT = 4096  # parts of a kind an ``ExplainMemo`` holds before it starts again


@dataclass(frozen=True)
class Explained:
    """Everything the explanation of one ticket's clocks is made from; ``memo`` the parts
    already built for other tickets of the same batch (``ExplainMemo``)."""

    ticket: Ticket
    resolution: Resolution
    row: BusinessCalendar | None
    cal: CalendarMath
    targets: dict[str, Target | None]
    clocks: dict[str, Clock]
    escalations: list[dict[str, Any]]
    history: History
    names: dict[date, str]
    memo: ExplainMemo | None = None


@dataclass
class ExplainMemo:
    """The parts of explanations that a batch's tickets share, built once a batch: a
    batch's tickets match a few policies, on a few calendars, and their clocks start and
    end on the same few days. Each part is the value its function returns for the same
    inputs (the keys hold every input), so an explanation is the same with or without
    the memo; the parts are shared between the explanations (never changed after)."""

    matches: dict[tuple[Any, ...], dict[str, object]] = field(default_factory=dict)
    days: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)
    counted: dict[tuple[Any, ...], str] = field(default_factory=dict)
    dues: dict[tuple[datetime, str], str] = field(default_factory=dict)
    keep: list[dict[date, str]] = field(default_factory=list)

    def bounded(self) -> ExplainMemo:
        """Return the memo, emptied first once it holds ``MEMO_LIMIT`` parts of a kind (a
        recompute of every live ticket shares one ``SlaLookups``, hence one memo)."""
        if max(len(self.matches), len(self.days), len(self.counted), len(self.dues)) >= (
            MEMO_LIMIT
        ):
            self.matches, self.days, self.counted, self.dues, self.keep = {}, {}, {}, {}, []
        return self


def explain(x: Explained) -> dict[str, Any]:
    """Return the explanation record (JSON) of the ticket's deadlines."""
    memo = x.memo.bounded() if x.memo is not None else ExplainMemo()
    policy = x.resolution.policy
    line = str(x.ticket.line) if x.ticket.line_id else ""
    calendar = x.row.name if x.row else "always open (no calendar configured)"
    out: dict[str, Any] = {
        "line": line,
        "policy": policy.name if policy else None,
        "policy_id": policy.pk if policy else None,
        "match": _match(x.resolution, memo),
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
            "target": _describe(target) if target else None,
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
            span = _span(x.cal, clock.started_at, end)
            # The names by identity: one dict a calendar version, kept alive by the memo
            # (``keep``) so that no other dict takes its id meanwhile.
            days_key = (x.cal, *span, id(x.names))
            if (counted := memo.days.get(days_key)) is None:
                memo.keep.append(x.names)
                counted = memo.days[days_key] = _days(x.cal, *span, x.names)
            info["days"] = counted
            label, policy_name = TARGET_LABELS[name], policy.name if policy else ""
            text_key = (*days_key, label, line, policy_name, calendar, target, clock.applied)
            if (head := memo.counted.get(text_key)) is None:
                head = memo.counted[text_key] = _summary_head(
                    label, line, policy_name, calendar, x.cal, target, clock, counted
                )
            info["summary"] = f"{head}; {_due_text(clock, x.cal, memo)}."
        out["targets"][name] = info
    return out


def _match(resolution: Resolution, memo: ExplainMemo) -> dict[str, object]:
    """``resolution.explain()``, once per policy, losers and ticket facts (names too)."""
    policy = resolution.policy
    key = (
        policy.pk if policy else None,
        tuple(p.pk for p in resolution.losers),
        resolution.facts,
        tuple(resolution.facts.names.items()),
    )
    if (found := memo.matches.get(key)) is None:
        found = memo.matches[key] = resolution.explain()
    return found


@lru_cache(maxsize=1024)
def _describe(target: Target) -> str:
    return target.describe()  # a frozen value: the same text every time


def _due_text(clock: Clock, cal: CalendarMath, memo: ExplainMemo) -> str:
    if clock.due is None:
        return "no deadline while paused"
    key = (clock.due, cal.zone.key)
    if (text := memo.dues.get(key)) is None:
        text = memo.dues[key] = (
            f"due {clock.due.astimezone(cal.zone):%a %Y-%m-%d %H:%M} {cal.zone.key}"
        )
    return text


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
    head = _summary_head(label, line, policy, calendar, cal, target, clock, counted)
    return f"{head}; {_due_text(clock, cal, ExplainMemo())}."


def _summary_head(
    label: str,
    line: str,
    policy: str,
    calendar: str,
    cal: CalendarMath,
    target: Target,
    clock: Clock,
    counted: list[dict[str, Any]],
) -> str:
    """The summary up to its deadline: the same for every clock of the same target, kind
    of clock and days counted."""
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
    parts = [
        f"{label}: {_describe(target)} on line {line or '–'} under “{policy}”",
        f"clock: {clock_text(clock, target, calendar, cal)}",
    ]
    if clock.applied != DAYS_OFF and target.unit != "calendar_hours":
        parts.append("counted " + ("; ".join(open_days) or "no open hours"))
        if closed:
            parts.append("closed " + ", ".join(closed))
    return "; ".join(parts)


def days(
    cal: CalendarMath, start: datetime, end: datetime, names: dict[date, str]
) -> list[dict[str, Any]]:
    """Return each local date from start to end with its hours and why they differ."""
    return _days(cal, *_span(cal, start, end), names)


def _span(cal: CalendarMath, start: datetime, end: datetime) -> tuple[date, date]:
    """The first and last local dates ``days`` lists."""
    first = start.astimezone(cal.zone).date()
    return first, min(end.astimezone(cal.zone).date(), first + timedelta(days=EXPLAINED_DAYS))


def _days(
    cal: CalendarMath, first: date, last: date, names: dict[date, str]
) -> list[dict[str, Any]]:
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
