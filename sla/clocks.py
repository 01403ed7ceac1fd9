"""Replay a ticket's history into SLA clocks: pure functions over calendar math.

No database access here: `sla.services` gathers the facts (`History`) and the policy's
targets, this module returns each target's state and deadline with the reasons, so the
rules can be tested with hand-computed cases.

Clock rules:

* First response runs from the ticket's start (a merge survivor keeps the earliest start
  of the tickets merged into it) until the first agent reply on a customer channel; an
  internal note is not a reply.
* Next response runs from the first customer message after a reply that is still
  unanswered (later messages of the same customer do not move it) until the next reply.
* Resolution runs from the start until the ticket is solved or closed; pending-customer
  and on-hold time (and solved time before a reopening) does not count.
* A merged duplicate's clocks stop at the merge; solving or closing a ticket stops its
  response clocks.
* A target in working days is the business time from the (next) opening at the start to
  the same clock time that many working days later; pauses then shift it like business
  hours. A target with a "days off" alternative uses the earlier of the business deadline
  and that many calendar hours when its clock starts on a day off: a weekend day or a
  public holiday, 00:00-24:00 local time (S1 on a Sunday: 3 hours). A weekday night is a
  working day's: it follows business hours (S1 at 03:00 on a Tuesday: the first business
  hour). The clock that applied is kept (``Clock.applied``) for the explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .calendar import CalendarMath

PAUSING = frozenset({"pending_customer", "on_hold", "solved", "closed"})
FINAL = frozenset({"solved", "closed"})


@dataclass(frozen=True)
class Target:
    amount: Decimal
    unit: str  # business_hours | working_days | calendar_hours
    closed_hours: Decimal | None = None

    def describe(self) -> str:
        amount = f"{self.amount.normalize():f}"
        unit = self.unit.replace("_", " ")
        text = f"{amount} {unit.removesuffix('s') if self.amount == 1 else unit}"
        if self.closed_hours:
            text += f", {self.closed_hours.normalize():f} calendar hours on days off"
        return text


@dataclass(frozen=True)
class MessageFact:
    at: datetime
    direction: str  # inbound | outbound | internal
    channel: str


@dataclass(frozen=True)
class History:
    start: datetime
    messages: Sequence[MessageFact]
    statuses: Sequence[tuple[datetime, str]]  # (when, new status), oldest first
    merged_at: datetime | None = None


@dataclass
class Clock:
    """One target's outcome; `due` is None while paused with budget left or with no clock."""

    state: str = "none"
    started_at: datetime | None = None
    due: datetime | None = None
    risk_at: datetime | None = None
    met_at: datetime | None = None
    breached: bool = False
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Which clock set `due`: "business" (the calendar's hours), "days_off" (calendar hours
    # because the clock started on a day off) or "calendar" (a calendar-hours target).
    applied: str = ""


Pause = tuple[datetime, datetime | None]
BUSINESS, DAYS_OFF, CALENDAR = "business", "days_off", "calendar"


def deadline(
    cal: CalendarMath,
    start: datetime,
    target: Target,
    pauses: Sequence[Pause] = (),
    fraction: float = 1.0,
) -> tuple[datetime | None, list[str]]:
    """Return when `fraction` of the target is used up from `start`, skipping `pauses`.

    None when an open-ended pause begins before the budget runs out.
    """
    due, notes, _ = deadline_with_clock(cal, start, target, pauses, fraction)
    return due, notes


def deadline_with_clock(
    cal: CalendarMath,
    start: datetime,
    target: Target,
    pauses: Sequence[Pause] = (),
    fraction: float = 1.0,
    *,
    with_notes: bool = True,
) -> tuple[datetime | None, list[str], str]:
    """``deadline`` and which clock applied (BUSINESS, DAYS_OFF or CALENDAR).

    ``with_notes`` False leaves the notes empty (the at-risk moment's are never shown).
    """
    notes: list[str] = []
    if target.unit == "calendar_hours":
        due = _walk(start, _hours(target.amount) * fraction, pauses, _real_between, _real_add)
        return due, notes, CALENDAR
    if target.unit == "working_days":
        first, end, budget = _working_days(cal, start, int(target.amount))
        if with_notes:
            notes.append(
                f"{int(target.amount)} working day(s) from {_fmt(first)} end {_fmt(end)}: "
                f"{_fmt_td(budget)} of business time"
            )
    else:
        budget = _hours(target.amount)
    due = _walk(start, budget * fraction, pauses, cal.between, cal.add)
    applied = BUSINESS
    if not target.closed_hours:
        return due, notes, applied
    local = start.astimezone(cal.zone)
    if not cal.is_working_day(local.date()):
        hours = f"{target.closed_hours.normalize():f}"
        alt = _walk(start, _hours(target.closed_hours) * fraction, pauses, _real_between, _real_add)
        day = f"{local:%A %Y-%m-%d}"
        if alt is not None and (due is None or alt < due):
            if with_notes:
                notes.append(
                    f"the clock started on a day off ({day}): {hours} calendar hours apply "
                    f"(due {_fmt(alt.astimezone(cal.zone))}), earlier than the business-time "
                    f"deadline ({_fmt(due.astimezone(cal.zone)) if due else 'none'})"
                )
            due, applied = alt, DAYS_OFF
        elif with_notes:
            notes.append(
                f"the clock started on a day off ({day}) but the business-time deadline is "
                f"earlier than {hours} calendar hours: business hours apply"
            )
    elif with_notes:
        notes.append(
            f"the clock started on a working day ({local:%A %Y-%m-%d}): business hours apply "
            "(the calendar-hours alternative is for days off)"
        )
    return due, notes, applied


# A clock's working-day budget by (calendar, start, days): its deadline and its at-risk
# moment both need it, and it walks the calendar twice (``next_open``, ``add_days``). A
# ``CalendarMath`` is one calendar version's (``calendar_store``), so it is the key.
_WORKING_DAYS: dict[tuple[CalendarMath, datetime, int], tuple[datetime, datetime, timedelta]] = {}
WORKING_DAYS_KEPT = 4096


def _working_days(
    cal: CalendarMath, start: datetime, days: int
) -> tuple[datetime, datetime, timedelta]:
    """Return the first opening at ``start``, the end ``days`` working days later, and the
    business time between them."""
    key = (cal, start, days)
    if (found := _WORKING_DAYS.get(key)) is None:
        first = cal.next_open(start)
        end = cal.add_days(first, days)
        found = (first, end, cal.between(first, end))
        if len(_WORKING_DAYS) >= WORKING_DAYS_KEPT:
            _WORKING_DAYS.clear()
        _WORKING_DAYS[key] = found
    return found


def _walk(
    start: datetime,
    budget: timedelta,
    pauses: Sequence[Pause],
    between: Callable[[datetime, datetime], timedelta],
    add: Callable[[datetime, timedelta], datetime],
) -> datetime | None:
    remaining, cursor = budget, start
    for p0, p1 in sorted(pauses, key=lambda p: p[0]):
        if p1 is not None and p1 <= cursor:
            continue
        p0 = max(p0, cursor)
        used = between(cursor, p0)
        if used >= remaining:
            return _as_utc(add(cursor, remaining))
        remaining -= used
        if p1 is None:
            return None
        cursor = p1
    return _as_utc(add(cursor, remaining))


def replay(
    cal: CalendarMath,
    targets: dict[str, Target | None],
    history: History,
    now: datetime,
    at_risk: float = 0.8,
) -> dict[str, Clock]:
    """Return the clocks of `first_response`, `next_response` and `resolution`."""
    final_status = history.statuses[-1][1] if history.statuses else "new"
    stop_at = history.merged_at
    if stop_at is None and final_status in FINAL:
        stop_at = history.statuses[-1][0]
    clocks = {
        "first_response": _first_response(cal, targets.get("first_response"), history, stop_at),
        "next_response": _next_response(cal, targets.get("next_response"), history, stop_at),
        "resolution": _resolution(cal, targets.get("resolution"), history),
    }
    return _finish(clocks, cal, targets, now, at_risk)


def _finish(
    clocks: dict[str, Clock],
    cal: CalendarMath,
    targets: dict[str, Target | None],
    now: datetime,
    at_risk: float,
) -> dict[str, Clock]:
    for name, clock in clocks.items():
        target = targets.get(name)
        if target is None or clock.started_at is None:
            continue
        if clock.state == "running" and clock.due is not None:
            clock.risk_at = deadline_with_clock(
                cal, clock.started_at, target, clock.pauses, at_risk, with_notes=False
            )[0]
        # A reply exactly at the deadline is on time; a running clock breaches at it.
        if clock.due is None:
            clock.breached = False
        elif clock.state in ("running", "paused"):
            clock.breached = now >= clock.due
        else:
            clock.breached = clock.met_at is not None and clock.met_at > clock.due
    return clocks


def _replies(history: History) -> list[datetime]:
    return sorted(m.at for m in history.messages if m.direction == "outbound")


def _first_response(
    cal: CalendarMath, target: Target | None, history: History, stop_at: datetime | None
) -> Clock:
    clock = Clock(started_at=history.start)
    if target is None:
        clock.started_at = None
        return clock
    clock.due, clock.notes, clock.applied = deadline_with_clock(cal, history.start, target)
    replies = _replies(history)
    if replies and (stop_at is None or replies[0] <= stop_at):
        clock.state, clock.met_at = "met", max(replies[0], history.start)
    elif stop_at is not None:
        clock.state, clock.met_at = "stopped", stop_at
    else:
        clock.state = "running"
    return clock


def _next_response(
    cal: CalendarMath, target: Target | None, history: History, stop_at: datetime | None
) -> Clock:
    clock = Clock()
    if target is None:
        return clock
    replied = False
    waiting: datetime | None = None
    last: tuple[datetime, datetime] | None = None
    for msg in sorted(history.messages, key=lambda m: m.at):
        if stop_at is not None and msg.at > stop_at:
            break
        if msg.direction == "outbound":
            if replied and waiting is not None:
                last, waiting = (waiting, msg.at), None
            replied = True
        elif msg.direction == "inbound" and replied and waiting is None:
            waiting = msg.at
    if waiting is not None:
        clock.started_at = waiting
        clock.due, clock.notes, clock.applied = deadline_with_clock(cal, waiting, target)
        if stop_at is not None:
            clock.state, clock.met_at = "stopped", stop_at
        else:
            clock.state = "running"
    elif last is not None:
        clock.started_at, clock.met_at = last
        clock.due, clock.notes, clock.applied = deadline_with_clock(cal, last[0], target)
        clock.state = "met"
    return clock


def _resolution(cal: CalendarMath, target: Target | None, history: History) -> Clock:
    clock = Clock()
    if target is None:
        return clock
    clock.started_at = history.start
    pauses: list[Pause] = []
    paused_since: datetime | None = None
    status = "new"
    for at, new_status in history.statuses:
        if new_status in PAUSING and status not in PAUSING:
            paused_since = max(at, history.start)
        elif new_status not in PAUSING and status in PAUSING and paused_since is not None:
            pauses.append((paused_since, max(at, history.start)))
            paused_since = None
        status = new_status
    if history.merged_at is not None:
        clock.pauses = pauses
        clock.due, clock.notes, clock.applied = deadline_with_clock(
            cal, history.start, target, pauses
        )
        clock.state, clock.met_at = "stopped", history.merged_at
        return clock
    if status in FINAL and paused_since is not None:
        # Solved or closed: measured up to the final solve; its open pause is the end.
        clock.pauses = pauses
        clock.due, clock.notes, clock.applied = deadline_with_clock(
            cal, history.start, target, pauses
        )
        clock.state, clock.met_at = "met", paused_since
        return clock
    if paused_since is not None:
        pauses.append((paused_since, None))
    clock.pauses = pauses
    clock.due, clock.notes, clock.applied = deadline_with_clock(cal, history.start, target, pauses)
    clock.state = "paused" if paused_since is not None else "running"
    return clock


def _hours(amount: Decimal) -> timedelta:
    return timedelta(seconds=int(amount * 3600))


# In UTC: Python adds and subtracts datetimes that share a zone by wall clock, which is
# an hour off across a DST change.
def _real_between(a: datetime, b: datetime) -> timedelta:
    return b.astimezone(UTC) - a.astimezone(UTC)


def _real_add(a: datetime, d: timedelta) -> datetime:
    return a.astimezone(UTC) + d


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _fmt(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


def _fmt_td(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"
