"""sla.clocks without a database: units, pauses and the while-closed alternative."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from sla.calendar import CalendarMath
from sla.clocks import History, MessageFact, Target, deadline, replay

from .conftest import ams

OFFICE = CalendarMath("Europe/Amsterdam", {d: [(time(9, 30), time(17))] for d in range(5)})


def test_calendar_hours_are_real_hours_across_spring_forward():
    """Saturday 2026-03-28 22:00 CET + 6 calendar hours = 05:00 CEST (03:00 UTC), not 04:00.

    Wall-clock arithmetic (22:00 + 6 h = 04:00 CEST) would lose the skipped hour.
    """
    due, _ = deadline(OFFICE, ams(2026, 3, 28, 22, 0), Target(Decimal(6), "calendar_hours"))
    assert due == datetime(2026, 3, 29, 3, 0, tzinfo=UTC)
    assert due.astimezone(ams(2026, 3, 29).tzinfo).hour == 5


def test_closed_alternative_on_the_fall_back_sunday():
    """Sunday 2026-10-25 01:30 CEST, S1-style: 3 calendar hours -> 03:30 CET (02:30 UTC)."""
    target = Target(Decimal(1), "business_hours", closed_hours=Decimal(3))
    due, notes = deadline(OFFICE, ams(2026, 10, 25, 1, 30), target)
    assert due == datetime(2026, 10, 25, 2, 30, tzinfo=UTC) and notes


def test_pause_with_no_end_leaves_no_deadline_and_at_risk_is_80_percent():
    start = ams(2026, 11, 23, 9, 30)
    target = Target(Decimal(10), "business_hours")
    history = History(
        start=start,
        messages=[MessageFact(start, "inbound", "email")],
        statuses=[(start, "new"), (ams(2026, 11, 23, 12, 0), "on_hold")],
    )
    clocks = replay(OFFICE, {"resolution": target}, history, ams(2026, 11, 24, 12))
    assert clocks["resolution"].state == "paused" and clocks["resolution"].due is None
    running = History(start=start, messages=history.messages, statuses=[(start, "new")])
    clock = replay(OFFICE, {"resolution": target}, running, start)["resolution"]
    # 10 h on 7.5 h days: Tuesday 12:00; 8 h (80 %): Tuesday 10:00.
    assert clock.due == ams(2026, 11, 24, 12, 0).astimezone(UTC)
    assert clock.risk_at == ams(2026, 11, 24, 10, 0).astimezone(UTC)
