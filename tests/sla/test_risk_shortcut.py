"""The at-risk moment is computed without notes and reuses the clock's working-day
budget: the same moments and clocks as the full computation, on every target shape."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from sla import clocks
from sla.calendar import CalendarMath
from sla.clocks import History, MessageFact, Target, deadline_with_clock, replay

from .conftest import ams

# Amsterdam office hours, with a public holiday on Monday 2026-12-28.
OFFICE = CalendarMath(
    "Europe/Amsterdam",
    {d: [(time(9, 30), time(17))] for d in range(5)},
    closed_dates=[date(2026, 12, 28)],
)
TARGETS = [
    Target(Decimal(4), "business_hours"),
    Target(Decimal(2), "working_days"),
    Target(Decimal(1), "business_hours", closed_hours=Decimal(3)),
    Target(Decimal(1), "working_days", closed_hours=Decimal(30)),
    Target(Decimal(6), "calendar_hours"),
]
STARTS = [
    ams(2026, 12, 22, 10, 0),  # a Tuesday, open
    ams(2026, 12, 26, 11, 0),  # a Saturday
    ams(2026, 12, 28, 3, 0),  # the holiday
    ams(2026, 10, 24, 23, 30),  # the night before the clocks go back
]
PAUSES = [(), ((ams(2026, 12, 22, 12, 0), ams(2026, 12, 29, 10, 0)),)]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.describe())
def test_without_notes_the_deadline_and_clock_are_the_same(target):
    for start in STARTS:
        for pauses in PAUSES:
            for fraction in (0.8, 1.0):
                clocks._WORKING_DAYS.clear()
                due, notes, applied = deadline_with_clock(OFFICE, start, target, pauses, fraction)
                again = deadline_with_clock(
                    OFFICE, start, target, pauses, fraction, with_notes=False
                )
                assert again == (due, [], applied)
                if target.unit == "working_days":
                    assert notes  # the full computation still explains itself


def test_a_remembered_budget_equals_a_fresh_one():
    start = ams(2026, 12, 24, 16, 0)
    clocks._WORKING_DAYS.clear()
    fresh = clocks._working_days(OFFICE, start, 3)
    assert clocks._working_days(OFFICE, start.astimezone(OFFICE.zone), 3) == fresh
    first, end, budget = fresh
    assert first == start and end.date() == date(2026, 12, 30)  # the holiday skipped
    assert budget == OFFICE.between(first, end) > timedelta(0)


def test_the_replayed_risk_moments_equal_the_full_deadline_at_80_percent():
    history = History(
        start=ams(2026, 12, 24, 16, 0),
        messages=[
            MessageFact(ams(2026, 12, 24, 16, 0), "inbound", "email"),
            MessageFact(ams(2026, 12, 29, 10, 0), "outbound", "email"),
            MessageFact(ams(2026, 12, 29, 11, 0), "inbound", "email"),
        ],
        statuses=[(ams(2026, 12, 24, 16, 0), "new"), (ams(2026, 12, 29, 12, 0), "open")],
    )
    targets = {
        "first_response": TARGETS[3],
        "next_response": TARGETS[0],
        "resolution": TARGETS[1],
    }
    now = ams(2026, 12, 29, 11, 30)
    clocks._WORKING_DAYS.clear()
    out = replay(OFFICE, targets, history, now, 0.8)
    for name in ("next_response", "resolution"):
        clock = out[name]
        assert clock.state == "running" and clock.risk_at is not None
        expected, _, _ = deadline_with_clock(
            OFFICE, clock.started_at, targets[name], clock.pauses, 0.8
        )
        assert clock.risk_at == expected < clock.due
    assert isinstance(out["resolution"].due, datetime)
