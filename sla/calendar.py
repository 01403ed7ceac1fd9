"""Business-time arithmetic over opening hours, holidays and time zones.

Standard library only, so it can be tested and benchmarked without Django.

A `CalendarMath` (the business-time arithmetic; calendar rows are `sla.models.BusinessCalendar`)
turns weekly opening hours plus per-date exceptions into a sorted
list of open intervals in UTC (integer microseconds), with the cumulative business time
at the end of each interval. Every question is then a `bisect` over that list: adding 500
business hours costs the same as adding one. Intervals are materialised lazily, one
calendar year at a time, around the instants asked about.

Rules the whole module follows:

* Opening hours are half-open `[open, close)` intervals of local wall-clock time; an
  interval that ends at midnight is written with end `time(0)`, and `(time(0), time(0))`
  is the whole day. An interval cannot run past midnight: split an overnight shift
  into `22:00-00:00` on one day and `00:00-06:00` on the next (they join into one
  open stretch).
* Business time is real elapsed time inside open intervals, so an interval across a DST
  change lasts as long as it really does: 01:00-04:00 lasts 2 hours on a spring-forward
  night in Europe/Amsterdam and 4 hours on a fall-back night.
* A wall time becomes the first instant at which the local clock shows that time or
  later. For every time that exists this is zoneinfo's `fold=0` reading (a time that
  happens twice is its first occurrence); a time skipped by a spring-forward gap becomes
  the instant the clock jumps (02:30 on Amsterdam's 2026-03-29 is 03:00 CEST). zoneinfo
  alone would read it as 03:30 CEST, which can put an opening after the closing that
  follows it; this rule keeps wall times in order.
* A date's hours: `closed_dates` win over everything; otherwise `special_hours`, then
  `extra_dates`, then the weekly hours of its weekday.
* Datetimes in must be aware (any zone); datetimes out are in the calendar's zone. Compare
  or subtract results as instants (`.astimezone(UTC)`): Python compares datetimes that
  share a tzinfo by wall clock, and never equates an ambiguous local time with a
  datetime of another zone (PEP 495).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["CalendarMath", "Hours", "NoOpenTimeError"]

Hours = Sequence[tuple[time, time]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_SECOND = 1_000_000
_MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)
# Keep a year of margin inside datetime's range so date arithmetic never overflows.
_MIN_YEAR, _MAX_YEAR = 2, 9997


class NoOpenTimeError(ValueError):
    """The calendar has no (or not enough) open time within its search horizon."""


@dataclass(frozen=True, slots=True)
class _Window:
    """Merged open intervals of the years `[year_lo, year_hi)`, in UTC microseconds.

    `cum_end[i]` is the business time from the window's start to `ends[i]`. `work_days`
    holds the ordinals of the dates with open time and `day_bounds` each one's first
    opening and last closing. A window is never mutated: growing one builds a new one, so
    readers in other threads always see lists that agree with each other.
    """

    year_lo: int
    year_hi: int
    lo_us: int
    hi_us: int
    starts: list[int]
    ends: list[int]
    cum_end: list[int]
    work_days: list[int]
    day_bounds: list[tuple[int, int]]

    def covers(self, at_us: int) -> bool:
        return self.lo_us <= at_us < self.hi_us

    def business(self, at_us: int) -> int:
        """Return the business time from the window's start to `at_us`."""
        i = bisect_right(self.starts, at_us) - 1
        if i < 0:
            return 0
        return self.cum_end[i] - max(0, self.ends[i] - at_us)


class CalendarMath:
    """Opening hours of one time zone, with holidays and per-date exceptions.

    `weekly` maps a weekday (Monday is 0) to its open intervals; missing weekdays are
    closed. `closed_dates` close whole dates (holidays, days off). `extra_dates` give
    hours to dates the weekly hours leave closed, such as a transferred working
    Saturday (on a weekday that is open anyway they replace its hours; a date may not be
    in both `extra_dates` and `special_hours`). `special_hours` replace a date's hours
    (a shortened day; an empty list closes it). A date in `closed_dates` stays closed
    whatever the other two say. `horizon_years` bounds how far `add`, `add_days` and
    `next_open` look ahead before giving up with `NoOpenTimeError`.
    """

    def __init__(
        self,
        tz: str | ZoneInfo,
        weekly: Mapping[int, Hours],
        closed_dates: Iterable[date] = (),
        extra_dates: Mapping[date, Hours] | None = None,
        special_hours: Mapping[date, Hours] | None = None,
        *,
        horizon_years: int = 10,
    ) -> None:
        self.zone = _zone(tz)
        self.horizon_years = horizon_years
        if horizon_years < 1:
            raise ValueError(f"horizon_years must be at least 1, got {horizon_years}")
        self._weekly: dict[int, tuple[tuple[time, time], ...]] = {}
        for weekday, hours in weekly.items():
            if not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(
                    f"weekly key {weekday!r} is not a weekday: use 0 (Monday) to 6 (Sunday)"
                )
            self._weekly[weekday] = _check_hours(hours, f"weekly[{weekday}]")
        self._closed = frozenset(_check_date(d, "closed_dates") for d in closed_dates)
        self._extra = _check_dated_hours(extra_dates or {}, "extra_dates")
        self._special = _check_dated_hours(special_hours or {}, "special_hours")
        for d, hours in self._extra.items():
            if not hours:
                raise ValueError(
                    f"extra_dates[{d}] has no intervals: list its opening hours, or put the "
                    "date in closed_dates to close it"
                )
            if d in self._special:
                raise ValueError(
                    f"{d} is in both extra_dates and special_hours: keep it in one of them"
                )
        self._years: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int, int]]]] = {}
        self._window: _Window | None = None

    def __repr__(self) -> str:
        return f"<CalendarMath {self.zone.key}>"

    # Public API

    def hours_on(self, day: date) -> tuple[tuple[time, time], ...]:
        """Return the local opening hours that apply to `day` (empty when closed)."""
        if day in self._closed:
            return ()
        if day in self._special:
            return self._special[day]
        if day in self._extra:
            return self._extra[day]
        return self._weekly.get(day.weekday(), ())

    def is_working_day(self, day: date) -> bool:
        """Return whether `day` has any open time."""
        return bool(self._day_intervals(day))

    def open_intervals(
        self, start_date: date, end_date: date
    ) -> Iterator[tuple[datetime, datetime]]:
        """Yield the open intervals of the dates in `[start_date, end_date)` as UTC instants.

        Intervals that touch (an overnight shift split at midnight) are yielded as one.
        """
        pending: tuple[int, int] | None = None
        day = start_date
        while day < end_date:
            for start_us, end_us in self._day_intervals(day):
                if pending is not None and pending[1] == start_us:
                    pending = (pending[0], end_us)
                    continue
                if pending is not None:
                    yield _utc(pending[0]), _utc(pending[1])
                pending = (start_us, end_us)
            day += _ONE_DAY
        if pending is not None:
            yield _utc(pending[0]), _utc(pending[1])

    def is_open(self, at: datetime) -> bool:
        """Return whether the calendar is open at the instant `at`."""
        at_us = _to_us(at, "at")
        window = self._window_for(at_us)
        i = bisect_right(window.starts, at_us) - 1
        return i >= 0 and at_us < window.ends[i]

    def next_open(self, at: datetime) -> datetime:
        """Return `at` if the calendar is open then, else the next opening after it."""
        return self._local(self._next_open_us(_to_us(at, "at")))

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Return the business time in `[a, b)`, negative when `b` is before `a`."""
        a_us, b_us = _to_us(a, "a"), _to_us(b, "b")
        if b_us < a_us:
            return -self.between(b, a)
        self._window_for(b_us)
        window = self._window_for(a_us)
        return (window.business(b_us) - window.business(a_us)) * _US

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """Return the earliest instant `t` with `between(start, t) == delta`.

        A budget that runs out exactly at a closing time returns that closing time; a
        start in closed time counts from the next opening. `delta == 0` returns `start`
        itself (in the calendar's zone), even when the calendar is closed then.
        """
        start_us = _to_us(start, "start")
        if delta < timedelta(0):
            raise ValueError(f"delta must not be negative, got {delta}")
        if not delta:
            return self._local(start_us)
        budget = delta // _US
        window = self._window_for(start_us)
        while True:
            target = window.business(start_us) + budget
            j = bisect_left(window.cum_end, target)
            if j < len(window.cum_end):
                return self._local(window.ends[j] - (window.cum_end[j] - target))
            window = self._grow_forward(window, start_us, f"add {delta} to {start.isoformat()}")

    def add_days(self, start: datetime, days: int) -> datetime:
        """Return the same local clock time `days` working days later.

        Count from `start`, or from the next opening when the calendar is closed at
        `start`, and clamp the result into the target day's first opening and last
        closing (a time between two intervals of that day is kept). `days == 0` returns
        that starting point: `start` when open, else the next opening.
        """
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        from_us = self._next_open_us(_to_us(start, "start"))
        if days == 0:
            return self._local(from_us)
        local = self._local(from_us)
        first_day = local.date().toordinal()
        window = self._window_for(from_us)
        while True:
            k = bisect_right(window.work_days, first_day) + days - 1
            if k < len(window.work_days):
                break
            window = self._grow_forward(window, from_us, f"add {days} working days")
        first_open, last_close = window.day_bounds[k]
        wanted = self._wall_us(date.fromordinal(window.work_days[k]), local.time())
        return self._local(min(max(wanted, first_open), last_close))

    # Materialisation

    def _day_intervals(self, day: date) -> list[tuple[int, int]]:
        """Return `day`'s open intervals as UTC microseconds, dropping empty ones."""
        out = []
        for open_at, close_at in self.hours_on(day):
            start_us = self._wall_us(day, open_at)
            if close_at == _MIDNIGHT:
                end_us = self._wall_us(day + _ONE_DAY, _MIDNIGHT)
            else:
                end_us = self._wall_us(day, close_at)
            # An interval lying wholly inside a spring-forward gap never happens.
            if end_us > start_us:
                out.append((start_us, end_us))
        return out

    def _wall_us(self, day: date, clock: time) -> int:
        """Return the first instant at which the local clock shows `day clock` or later."""
        naive = datetime.combine(day, clock.replace(tzinfo=None, fold=0))
        after = _raw_us(naive.replace(tzinfo=self.zone))
        if _utc(after).astimezone(self.zone).replace(tzinfo=None) == naive:
            return after
        # Skipped by a gap: zoneinfo's fold=1 reading falls before the jump and fold=0
        # after it; search the whole seconds between them (tzdb jumps are whole seconds).
        before = _raw_us(naive.replace(tzinfo=self.zone, fold=1))
        new_offset = _utc(after).astimezone(self.zone).utcoffset()
        lo, hi = -(-before // _SECOND), after // _SECOND
        while lo < hi:
            mid = (lo + hi) // 2
            if _utc(mid * _SECOND).astimezone(self.zone).utcoffset() == new_offset:
                hi = mid
            else:
                lo = mid + 1
        return lo * _SECOND

    def _year(self, year: int) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
        """Return (and cache) one year's intervals and its working days' bounds.

        Each working day is `(ordinal, first opening, last closing)`.
        """
        cached = self._years.get(year)
        if cached is None:
            intervals: list[tuple[int, int]] = []
            work_days: list[tuple[int, int, int]] = []
            day, end = date(year, 1, 1), date(year + 1, 1, 1)
            while day < end:
                day_intervals = self._day_intervals(day)
                if day_intervals:
                    intervals.extend(day_intervals)
                    work_days.append((day.toordinal(), day_intervals[0][0], day_intervals[-1][1]))
                day += _ONE_DAY
            cached = self._years[year] = (intervals, work_days)
        return cached

    def _build(self, year_lo: int, year_hi: int) -> _Window:
        if year_lo < _MIN_YEAR or year_hi > _MAX_YEAR + 1:
            raise ValueError(
                f"dates must fall in years {_MIN_YEAR}-{_MAX_YEAR}; "
                f"this needs {year_lo}-{year_hi - 1}"
            )
        starts: list[int] = []
        ends: list[int] = []
        cum_end: list[int] = []
        work_days: list[int] = []
        day_bounds: list[tuple[int, int]] = []
        total = 0
        for year in range(year_lo, year_hi):
            intervals, year_work_days = self._year(year)
            for ordinal, first_open, last_close in year_work_days:
                work_days.append(ordinal)
                day_bounds.append((first_open, last_close))
            for start_us, end_us in intervals:
                total += end_us - start_us
                if ends and ends[-1] == start_us:
                    ends[-1] = end_us
                    cum_end[-1] = total
                else:
                    starts.append(start_us)
                    ends.append(end_us)
                    cum_end.append(total)
        window = _Window(
            year_lo=year_lo,
            year_hi=year_hi,
            lo_us=self._wall_us(date(year_lo, 1, 1), _MIDNIGHT),
            hi_us=self._wall_us(date(year_hi, 1, 1), _MIDNIGHT),
            starts=starts,
            ends=ends,
            cum_end=cum_end,
            work_days=work_days,
            day_bounds=day_bounds,
        )
        self._window = window
        return window

    def _window_for(self, at_us: int) -> _Window:
        """Return a window that covers the instant `at_us`, growing it if needed."""
        window = self._window
        if window is not None and window.covers(at_us):
            return window
        # A year either side of the UTC year covers any UTC offset.
        year = _utc(at_us).year
        if window is None:
            return self._build(year - 1, year + 2)
        return self._build(min(window.year_lo, year - 1), max(window.year_hi, year + 2))

    def _grow_forward(self, window: _Window, from_us: int, doing: str) -> _Window:
        """Return the window grown by a year, or raise once past the horizon of `from_us`."""
        if window.year_hi > self._local(from_us).year + self.horizon_years:
            raise NoOpenTimeError(
                f"cannot {doing}: the calendar has too little open time in the next "
                f"{self.horizon_years} years; check its weekly hours and closed_dates, "
                "or raise horizon_years"
            )
        return self._build(window.year_lo, window.year_hi + 1)

    def _next_open_us(self, at_us: int) -> int:
        window = self._window_for(at_us)
        while True:
            i = bisect_right(window.starts, at_us) - 1
            if i >= 0 and at_us < window.ends[i]:
                return at_us
            if i + 1 < len(window.starts):
                return window.starts[i + 1]
            window = self._grow_forward(window, at_us, "find the next opening")

    def _local(self, at_us: int) -> datetime:
        return _utc(at_us).astimezone(self.zone)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    if isinstance(tz, tzinfo):
        raise ValueError(f"tz must be an IANA zone name or a ZoneInfo, got {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"unknown time zone {tz!r}: use an IANA name such as 'Europe/Moscow' "
            "(install the tzdata package where the system has no zone database)"
        ) from None


def _check_date(value: object, where: str) -> date:
    # datetime is a subclass of date; a datetime here is almost surely a mistake.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{where}: {value!r} is not a date; pass datetime.date objects")
    return value


def _check_dated_hours(
    dated: Mapping[date, Hours], where: str
) -> dict[date, tuple[tuple[time, time], ...]]:
    return {
        _check_date(d, where): _check_hours(hours, f"{where}[{d}]") for d, hours in dated.items()
    }


def _check_hours(hours: Hours, where: str) -> tuple[tuple[time, time], ...]:
    """Return the intervals sorted, or raise ValueError naming the first bad one."""
    checked = []
    for interval in hours:
        try:
            open_at, close_at = interval
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {interval!r} is not an (open, close) pair") from None
        for value in (open_at, close_at):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(
                    f"{where}: {value!r} is not a naive datetime.time; opening hours are "
                    "local wall-clock times of the calendar's zone"
                )
        if close_at != _MIDNIGHT and close_at <= open_at:
            raise ValueError(
                f"{where}: interval {open_at}-{close_at} does not open before it closes; "
                "write an interval ending at midnight with end time(0), and split one "
                "that runs past midnight into two days"
            )
        checked.append((open_at.replace(fold=0), close_at.replace(fold=0)))
    checked.sort()
    for (open_a, close_a), (open_b, close_b) in zip(checked, checked[1:], strict=False):
        if close_a == _MIDNIGHT or close_a > open_b:
            raise ValueError(
                f"{where}: intervals {open_a}-{close_a} and {open_b}-{close_b} overlap; "
                "merge them or move one"
            )
    return tuple(checked)


def _to_us(value: datetime, name: str) -> int:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} is a naive datetime ({value.isoformat()}); pass an aware one, e.g. "
            "with tzinfo=ZoneInfo(...) or datetime.UTC"
        )
    return _raw_us(value)


def _raw_us(value: datetime) -> int:
    return (value - _EPOCH) // _US


def _utc(at_us: int) -> datetime:
    return _EPOCH + at_us * _US
