"""Property tests: CalendarMath against itself and against a minute-stepping reference.

The reference reads each UTC minute's local wall clock and checks it against the date's
hours directly, without the fast structure's instants, bisect or cumulative sums. That
reading agrees with the calendar's wall-time rule whenever no interval endpoint falls in
a skipped or repeated hour, which holds for every calendar below (Amsterdam changes its
clocks between 02:00 and 03:00).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.calendar import CalendarMath

Hours = Sequence[tuple[time, time]]
MINUTE = timedelta(minutes=1)
DAY_MINUTES = 24 * 60
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# The reference walks minute by minute, so its spans stay within a few days.
REFERENCE_SETTINGS = settings(SETTINGS, max_examples=100)


@dataclass(frozen=True)
class Spec:
    name: str
    tz: str
    weekly: Mapping[int, Hours]
    closed_dates: frozenset[date] = frozenset()
    extra_dates: Mapping[date, Hours] = field(default_factory=dict)
    special_hours: Mapping[date, Hours] = field(default_factory=dict)

    def calendar(self) -> CalendarMath:
        return CalendarMath(
            self.tz, self.weekly, self.closed_dates, self.extra_dates, self.special_hours
        )


DAILY = range(7)
WEEKDAYS = range(5)
SPECS = [
    Spec("amsterdam-24h", "Europe/Amsterdam", {d: [(time(0), time(0))] for d in DAILY}),
    Spec("amsterdam-01-04", "Europe/Amsterdam", {d: [(time(1), time(4))] for d in DAILY}),
    Spec(
        "amsterdam-night-and-office",
        "Europe/Amsterdam",
        {
            d: [(time(0), time(6))] + ([(time(9, 30), time(17))] if d in WEEKDAYS else [])
            for d in DAILY
        },
        closed_dates=frozenset({date(2026, 3, 30), date(2026, 10, 27)}),
        extra_dates={date(2026, 3, 28): [(time(0), time(6)), (time(10), time(12))]},
        special_hours={date(2026, 10, 23): [(time(0), time(6)), (time(9, 30), time(12))]},
    ),
    Spec(
        "moscow-office-with-meetings",
        "Europe/Moscow",
        {
            **{d: [(time(7), time(17))] for d in range(4)},
            4: [(time(9, 30), time(10, 30)), (time(13, 30), time(15)), (time(15, 30), time(17))],
        },
        closed_dates=frozenset(
            {date(2025, 11, 3), date(2025, 11, 4), date(2025, 12, 31)}
            | {date(2026, 1, d) for d in range(1, 12)}
        ),
        extra_dates={date(2025, 11, 1): [(time(7), time(17))]},
        special_hours={date(2026, 12, 30): [(time(7), time(16))]},
    ),
]
CALENDARS = {spec.name: spec.calendar() for spec in SPECS}

# Noon UTC on days next to both 2026 DST changes, the Russian holidays, and a plain week.
ANCHORS = [
    datetime(2026, 3, 28, 12, tzinfo=UTC),
    datetime(2026, 10, 24, 12, tzinfo=UTC),
    datetime(2025, 10, 31, 12, tzinfo=UTC),
    datetime(2025, 12, 30, 12, tzinfo=UTC),
    datetime(2026, 12, 29, 12, tzinfo=UTC),
    datetime(2026, 6, 10, 12, tzinfo=UTC),
]


class Reference:
    """Minute-stepping business time from a direct reading of the wall clock."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.zone = spec.calendar().zone

    def hours(self, day: date) -> Hours:
        spec = self.spec
        if day in spec.closed_dates:
            return ()
        if day in spec.special_hours:
            return spec.special_hours[day]
        if day in spec.extra_dates:
            return spec.extra_dates[day]
        return spec.weekly.get(day.weekday(), ())

    def open_at(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone)
        clock = local.time()
        return any(
            start <= clock and (end == time(0) or clock < end)
            for start, end in self.hours(local.date())
        )

    @cache  # noqa: B019 - one Reference per spec lives as long as the module
    def day_flags(self, utc_day: int) -> bytes:
        """Return one byte per minute of a UTC day: 1 where open."""
        first = EPOCH + utc_day * DAY_MINUTES * MINUTE
        return bytes(self.open_at(first + m * MINUTE) for m in range(DAY_MINUTES))

    def flags(self, start: int, stop: int) -> bytes:
        """Return the open flags of the minutes `[start, stop)` since the epoch."""
        out = bytearray()
        for day in range(start // DAY_MINUTES, -(-stop // DAY_MINUTES)):
            out += self.day_flags(day)
        offset = start - start // DAY_MINUTES * DAY_MINUTES
        return bytes(out[offset : offset + stop - start])

    def between(self, a: int, b: int) -> int:
        return self.flags(a, b).count(1)

    def add(self, a: int, minutes: int) -> int:
        """Return the minute at which `minutes` open minutes from `a` are used up."""
        if minutes == 0:
            return a
        seen = 0
        for minute in range(a, a + 30 * DAY_MINUTES):
            day, offset = divmod(minute, DAY_MINUTES)
            seen += self.day_flags(day)[offset]
            if seen == minutes:
                return minute + 1
        raise AssertionError("reference ran out of its 30-day window")


REFERENCES = {spec.name: Reference(spec) for spec in SPECS}


def minute_to_dt(minute: int) -> datetime:
    return EPOCH + minute * MINUTE


def to_minute(instant: datetime) -> int:
    return (instant - EPOCH) // MINUTE


# Instants within a few days of an anchor, to the minute or to the microsecond.
minutes = st.builds(
    lambda anchor, offset: to_minute(anchor) + offset,
    st.sampled_from(ANCHORS),
    st.integers(-3 * DAY_MINUTES, 3 * DAY_MINUTES),
)
instants = st.builds(
    lambda anchor, offset: anchor + offset * timedelta(microseconds=1),
    st.sampled_from(ANCHORS),
    st.integers(-4 * 86_400_000_000, 4 * 86_400_000_000),
)
durations = st.integers(0, 500 * 3_600_000_000).map(lambda us: timedelta(microseconds=us))
names = pytest.mark.parametrize("name", sorted(CALENDARS))


@names
@REFERENCE_SETTINGS
@given(a=minutes, span=st.integers(0, 2 * DAY_MINUTES))
def test_between_matches_reference(name: str, a: int, span: int) -> None:
    cal, ref = CALENDARS[name], REFERENCES[name]
    expected = ref.between(a, a + span) * MINUTE
    assert cal.between(minute_to_dt(a), minute_to_dt(a + span)) == expected


@names
@REFERENCE_SETTINGS
@given(a=minutes, budget=st.integers(0, 12 * 60))
def test_add_matches_reference(name: str, a: int, budget: int) -> None:
    cal, ref = CALENDARS[name], REFERENCES[name]
    result = cal.add(minute_to_dt(a), budget * MINUTE)
    assert result.astimezone(UTC) == minute_to_dt(ref.add(a, budget))
    assert result.tzinfo is cal.zone


@names
@REFERENCE_SETTINGS
@given(at=minutes)
def test_is_open_and_next_open_match_reference(name: str, at: int) -> None:
    cal, ref = CALENDARS[name], REFERENCES[name]
    assert cal.is_open(minute_to_dt(at)) == ref.open_at(minute_to_dt(at))
    # The next opening is the first open minute at or after `at`.
    assert cal.next_open(minute_to_dt(at)).astimezone(UTC) == minute_to_dt(ref.add(at, 1) - 1)


@names
@SETTINGS
@given(a=instants, delta=durations)
def test_between_undoes_add(name: str, a: datetime, delta: timedelta) -> None:
    cal = CALENDARS[name]
    t = cal.add(a, delta)
    assert cal.between(a, t) == delta
    if delta:
        # Earliest such instant: a microsecond earlier the budget is not used up.
        assert cal.between(a, t.astimezone(UTC) - timedelta(microseconds=1)) < delta


@names
@SETTINGS
@given(a=instants, b=instants)
def test_between_is_antisymmetric_and_additive(name: str, a: datetime, b: datetime) -> None:
    cal = CALENDARS[name]
    assert cal.between(b, a) == -cal.between(a, b)
    middle = a + (b - a) / 3
    assert cal.between(a, b) == cal.between(a, middle) + cal.between(middle, b)


@names
@SETTINGS
@given(a=instants, b=instants, d1=durations, d2=durations)
def test_monotonic(name: str, a: datetime, b: datetime, d1: timedelta, d2: timedelta) -> None:
    cal = CALENDARS[name]
    a, b = sorted((a, b))
    d1, d2 = sorted((d1, d2))
    # Compared in UTC: same-zone datetimes compare by wall clock, which repeats in autumn.
    assert cal.add(a, d1).astimezone(UTC) <= cal.add(b, d1).astimezone(UTC)
    assert cal.add(a, d1).astimezone(UTC) <= cal.add(a, d2).astimezone(UTC)
    c = b + d2
    assert cal.between(a, c) >= cal.between(b, c) >= timedelta(0)
    assert cal.between(a, b) <= cal.between(a, c)


@names
@SETTINGS
@given(a=instants, days=st.integers(0, 30))
def test_add_days_matches_stepping_over_dates(name: str, a: datetime, days: int) -> None:
    cal, ref = CALENDARS[name], REFERENCES[name]
    start = cal.next_open(a)
    result = cal.add_days(a, days)
    day = start.date()
    for _ in range(days):
        day += timedelta(days=1)
        while not ref.hours(day):
            day += timedelta(days=1)
    assert result.date() == day
    if days:
        assert cal.is_working_day(result.date())
        intervals = list(cal.open_intervals(day, day + timedelta(days=1)))
        assert intervals[0][0] <= result.astimezone(UTC) <= intervals[-1][1]
