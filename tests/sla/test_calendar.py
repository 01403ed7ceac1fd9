"""Hand-computed cases for sla.calendar.CalendarMath."""

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

import sla.calendar
from sla.calendar import CalendarMath, NoOpenTimeError

MSK = ZoneInfo("Europe/Moscow")
AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
OFFICE = [(time(7), time(17))]
FRIDAY_WITH_MEETINGS = [
    (time(9, 30), time(10, 30)),
    (time(13, 30), time(15)),
    (time(15, 30), time(17)),
]
NEW_YEAR_2026 = {date(2025, 12, 31)} | {date(2026, 1, day) for day in range(1, 12)}


def utc(instant: datetime) -> datetime:
    """Return `instant` in UTC.

    Compare instants this way around DST changes: datetimes sharing a tzinfo compare and
    subtract by wall clock, and an ambiguous local time never equals a datetime of
    another zone (PEP 495).
    """
    return instant.astimezone(UTC)


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def ams(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=AMS, fold=fold)


def moscow_office(**kwargs: object) -> CalendarMath:
    return CalendarMath("Europe/Moscow", {day: OFFICE for day in range(5)}, **kwargs)


def amsterdam_daily(hours: list[tuple[time, time]]) -> CalendarMath:
    return CalendarMath("Europe/Amsterdam", {day: hours for day in range(7)})


def meetings_calendar() -> CalendarMath:
    weekly = {day: [(time(9, 30), time(17))] for day in range(4)}
    weekly[4] = FRIDAY_WITH_MEETINGS
    return CalendarMath("Europe/Amsterdam", weekly)


class TestAdd:
    def test_friday_evening_plus_one_hour_lands_monday_morning(self) -> None:
        """Five minutes are left on Friday; the other 55 run from Monday's opening."""
        assert moscow_office().add(msk(2026, 1, 16, 16, 55), H) == msk(2026, 1, 19, 7, 55)

    def test_budget_ending_at_closing_returns_closing_time(self) -> None:
        """The earliest instant with the budget used up is the closing, not the next opening."""
        cal = moscow_office()
        assert cal.add(msk(2026, 1, 19, 16), H) == msk(2026, 1, 19, 17)
        assert cal.add(msk(2026, 1, 16, 7), 10 * H) == msk(2026, 1, 16, 17)
        assert meetings_calendar().add(ams(2026, 1, 16, 10), 30 * MIN) == ams(2026, 1, 16, 10, 30)

    def test_one_microsecond_past_closing_budget_moves_to_next_opening(self) -> None:
        cal = moscow_office()
        tick = timedelta(microseconds=1)
        assert cal.add(msk(2026, 1, 19, 16), H + tick) == msk(2026, 1, 20, 7) + tick

    @pytest.mark.parametrize(
        ("start", "expected"),
        [
            (msk(2026, 1, 17, 12), msk(2026, 1, 19, 8)),  # Saturday
            (msk(2026, 1, 19, 5), msk(2026, 1, 19, 8)),  # before opening
            (msk(2026, 1, 19, 18), msk(2026, 1, 20, 8)),  # after closing
            (msk(2026, 1, 19, 17), msk(2026, 1, 20, 8)),  # exactly at closing: closed
        ],
    )
    def test_start_in_closed_time_counts_from_next_opening(
        self, start: datetime, expected: datetime
    ) -> None:
        assert moscow_office().add(start, H) == expected

    def test_zero_delta_returns_start_even_when_closed(self) -> None:
        cal = moscow_office()
        saturday = datetime(2026, 1, 17, 9, tzinfo=UTC)
        result = cal.add(saturday, timedelta(0))
        assert result == saturday
        assert result.tzinfo is MSK

    def test_transferred_working_saturday(self) -> None:
        """Russia 2025: Saturday 1 November worked, Monday 3 and Tuesday 4 off."""
        cal = moscow_office(
            extra_dates={date(2025, 11, 1): OFFICE},
            closed_dates={date(2025, 11, 3), date(2025, 11, 4)},
        )
        assert cal.add(msk(2025, 10, 31, 16), 2 * H) == msk(2025, 11, 1, 8)
        assert cal.add(msk(2025, 11, 1, 16, 30), H) == msk(2025, 11, 5, 7, 30)
        assert cal.between(msk(2025, 10, 31, 0), msk(2025, 11, 6, 0)) == 30 * H

    def test_new_year_holidays(self) -> None:
        cal = moscow_office(closed_dates=NEW_YEAR_2026)
        assert cal.add(msk(2025, 12, 30, 16), 3 * H) == msk(2026, 1, 12, 9)
        assert cal.between(msk(2025, 12, 30, 16), msk(2026, 1, 12, 9)) == 3 * H

    def test_special_hours_shorten_a_day(self) -> None:
        cal = moscow_office(special_hours={date(2026, 12, 30): [(time(7), time(16))]})
        assert cal.add(msk(2026, 12, 30, 15, 30), H) == msk(2026, 12, 31, 7, 30)

    def test_friday_meeting_gaps_are_skipped(self) -> None:
        cal = meetings_calendar()
        assert cal.add(ams(2026, 1, 16, 10), H) == ams(2026, 1, 16, 14)
        assert cal.add(ams(2026, 1, 16, 10), 2 * H + 30 * MIN) == ams(2026, 1, 16, 16)
        assert cal.add(ams(2026, 1, 16, 16), 2 * H) == ams(2026, 1, 19, 10, 30)

    def test_amsterdam_office_across_dst_weekends(self) -> None:
        cal = meetings_calendar()
        assert cal.add(ams(2026, 3, 27, 16), 2 * H) == ams(2026, 3, 30, 10, 30)
        assert cal.add(ams(2026, 10, 23, 16), 2 * H) == ams(2026, 10, 26, 10, 30)

    def test_always_open_calendar_adds_real_elapsed_time_over_spring_gap(self) -> None:
        """00:30 CET + 2 h would be 02:30 CET, which the clock shows as 03:30 CEST."""
        cal = amsterdam_daily([(time(0), time(0))])
        start = ams(2026, 3, 29, 0, 30)
        result = cal.add(start, 2 * H)
        assert (result.hour, result.minute, result.utcoffset()) == (3, 30, 2 * H)
        assert utc(result) - utc(start) == 2 * H

    def test_always_open_calendar_over_fall_back_lands_in_second_occurrence(self) -> None:
        cal = amsterdam_daily([(time(0), time(0))])
        result = cal.add(ams(2026, 10, 25, 1, 30), 2 * H)
        assert (result.hour, result.minute, result.fold, result.utcoffset()) == (2, 30, 1, H)
        assert utc(result) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)

    def test_input_zone_does_not_change_the_instant(self) -> None:
        cal = moscow_office()
        in_moscow = msk(2026, 1, 16, 16, 55)
        expected = msk(2026, 1, 19, 7, 55)
        for start in (in_moscow, in_moscow.astimezone(UTC), in_moscow.astimezone(NYC)):
            result = cal.add(start, H)
            assert result == expected
            assert result.tzinfo is MSK
            assert result.utcoffset() == 3 * H

    def test_long_budget(self) -> None:
        """500 business hours at 50 a week is exactly 10 weeks."""
        cal = moscow_office()
        assert cal.add(msk(2026, 2, 2, 7), 500 * H) == msk(2026, 4, 10, 17)


class TestBetween:
    def test_counts_only_open_time(self) -> None:
        cal = moscow_office()
        assert cal.between(msk(2026, 1, 16, 16, 55), msk(2026, 1, 19, 7, 55)) == H
        assert cal.between(msk(2026, 1, 17, 0), msk(2026, 1, 19, 7)) == timedelta(0)

    def test_is_antisymmetric(self) -> None:
        cal = moscow_office()
        a, b = msk(2026, 1, 14, 12), msk(2026, 1, 20, 9, 15)
        assert cal.between(a, b) == 3 * 10 * H + 5 * H + 2 * H + 15 * MIN
        assert cal.between(b, a) == -cal.between(a, b)
        assert cal.between(a, a) == timedelta(0)

    def test_half_open(self) -> None:
        """[opening, closing) counts in full; the closing instant itself is closed."""
        cal = moscow_office()
        assert cal.between(msk(2026, 1, 19, 7), msk(2026, 1, 19, 17)) == 10 * H

    def test_friday_with_meetings(self) -> None:
        cal = meetings_calendar()
        assert cal.between(ams(2026, 1, 16, 9), ams(2026, 1, 16, 18)) == 4 * H

    def test_amsterdam_office_across_dst_weekends(self) -> None:
        cal = meetings_calendar()
        assert cal.between(ams(2026, 3, 27, 17), ams(2026, 3, 30, 9, 30)) == timedelta(0)
        assert cal.between(ams(2026, 3, 27, 9, 30), ams(2026, 3, 30, 17)) == 11.5 * H
        assert cal.between(ams(2026, 10, 22, 9, 30), ams(2026, 10, 26, 17)) == 19 * H

    @pytest.mark.parametrize(
        ("hours", "spring", "normal", "fall"),
        [
            ([(time(0), time(0))], 23, 24, 25),
            ([(time(0), time(6))], 5, 6, 7),
            ([(time(1), time(4))], 2, 3, 4),
            ([(time(22), time(0)), (time(0), time(6))], 7, 8, 9),
        ],
    )
    def test_intervals_over_dst_nights_last_as_long_as_they_really_do(
        self, hours: list[tuple[time, time]], spring: int, normal: int, fall: int
    ) -> None:
        cal = amsterdam_daily(hours)
        for day, expected in ((29, spring), (22, normal)):
            start = ams(2026, 3, day)
            assert cal.between(start, start + timedelta(days=1)) == expected * H
        fall_day = ams(2026, 10, 25)
        assert cal.between(fall_day, ams(2026, 10, 26)) == fall * H

    def test_opening_skipped_by_spring_gap_opens_when_the_clock_jumps(self) -> None:
        """02:30 never shows on 2026-03-29; the office opens at 03:00 CEST (not 03:30)."""
        cal = amsterdam_daily([(time(2, 30), time(5))])
        assert utc(cal.next_open(ams(2026, 3, 29, 1))) == datetime(2026, 3, 29, 1, tzinfo=UTC)
        assert cal.between(ams(2026, 3, 29), ams(2026, 3, 30)) == 2 * H

    def test_ambiguous_opening_is_its_first_occurrence(self) -> None:
        """02:30 shows twice on 2026-10-25; the office opens at the first and stays open."""
        cal = amsterdam_daily([(time(2, 30), time(5))])
        opening = cal.next_open(ams(2026, 10, 25, 1))
        assert utc(opening) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
        assert cal.is_open(ams(2026, 10, 25, 2, 15, fold=1))
        assert cal.between(ams(2026, 10, 25), ams(2026, 10, 26)) == 3.5 * H

    def test_interval_wholly_inside_spring_gap_never_opens(self) -> None:
        cal = amsterdam_daily([(time(2, 15), time(2, 45)), (time(9), time(10))])
        assert cal.between(ams(2026, 3, 29), ams(2026, 3, 30)) == H
        assert cal.is_working_day(date(2026, 3, 29))


class TestOpen:
    def test_is_open_half_open_intervals(self) -> None:
        cal = moscow_office()
        assert not cal.is_open(msk(2026, 1, 19, 6, 59))
        assert cal.is_open(msk(2026, 1, 19, 7))
        assert cal.is_open(msk(2026, 1, 19, 16, 59))
        assert not cal.is_open(msk(2026, 1, 19, 17))
        assert not cal.is_open(msk(2026, 1, 17, 12))

    def test_next_open(self) -> None:
        cal = meetings_calendar()
        assert cal.next_open(ams(2026, 1, 16, 12)) == ams(2026, 1, 16, 13, 30)
        assert cal.next_open(ams(2026, 1, 16, 10)) == ams(2026, 1, 16, 10)
        assert cal.next_open(ams(2026, 1, 16, 17)) == ams(2026, 1, 19, 9, 30)

    def test_next_open_returns_calendar_zone(self) -> None:
        cal = moscow_office()
        at = datetime(2026, 1, 19, 5, tzinfo=UTC)  # 08:00 MSK, open
        assert cal.next_open(at).tzinfo is MSK
        assert cal.next_open(at) == at

    def test_working_days_and_hours_precedence(self) -> None:
        cal = moscow_office(
            closed_dates={date(2026, 1, 1), date(2026, 12, 31)},
            extra_dates={date(2025, 11, 1): OFFICE},
            special_hours={date(2026, 12, 31): [(time(7), time(12))], date(2026, 2, 23): []},
        )
        assert cal.is_working_day(date(2025, 11, 1))
        assert not cal.is_working_day(date(2025, 11, 2))
        assert not cal.is_working_day(date(2026, 1, 1))
        assert not cal.is_working_day(date(2026, 2, 23))  # empty special hours close it
        # closed_dates win over special_hours
        assert cal.hours_on(date(2026, 12, 31)) == ()
        assert cal.hours_on(date(2026, 1, 2)) == tuple(OFFICE)

    def test_extra_dates_replace_weekly_hours_on_an_open_weekday(self) -> None:
        cal = moscow_office(extra_dates={date(2026, 1, 19): [(time(10), time(12))]})
        assert cal.hours_on(date(2026, 1, 19)) == ((time(10), time(12)),)

    def test_open_intervals_joins_overnight_shift_and_is_half_open(self) -> None:
        cal = CalendarMath("Europe/Amsterdam", {0: [(time(22), time(0))], 1: [(time(0), time(6))]})
        intervals = list(cal.open_intervals(date(2026, 1, 19), date(2026, 1, 21)))
        assert intervals == [(ams(2026, 1, 19, 22), ams(2026, 1, 20, 6))]
        assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in intervals)
        assert list(cal.open_intervals(date(2026, 1, 19), date(2026, 1, 19))) == []


class TestAddDays:
    def test_same_clock_time_next_working_day(self) -> None:
        cal = moscow_office(closed_dates=NEW_YEAR_2026)
        assert cal.add_days(msk(2026, 1, 19, 10), 1) == msk(2026, 1, 20, 10)
        assert cal.add_days(msk(2026, 1, 16, 10), 1) == msk(2026, 1, 19, 10)
        assert cal.add_days(msk(2026, 1, 16, 10), 5) == msk(2026, 1, 23, 10)
        assert cal.add_days(msk(2025, 12, 30, 10), 1) == msk(2026, 1, 12, 10)

    def test_clamps_to_last_closing(self) -> None:
        cal = moscow_office(special_hours={date(2026, 12, 30): [(time(7), time(16))]})
        assert cal.add_days(msk(2026, 12, 29, 16, 30), 1) == msk(2026, 12, 30, 16)

    def test_clamps_to_first_opening(self) -> None:
        cal = moscow_office(extra_dates={date(2025, 11, 1): [(time(10), time(14))]})
        assert cal.add_days(msk(2025, 10, 31, 8), 1) == msk(2025, 11, 1, 10)

    def test_keeps_a_clock_time_between_two_intervals(self) -> None:
        cal = meetings_calendar()
        assert cal.add_days(ams(2026, 1, 15, 12), 1) == ams(2026, 1, 16, 12)

    def test_closed_start_counts_from_next_opening(self) -> None:
        cal = moscow_office()
        assert cal.add_days(msk(2026, 1, 17, 12), 1) == msk(2026, 1, 20, 7)
        assert cal.add_days(msk(2026, 1, 19, 18), 1) == msk(2026, 1, 21, 7)

    def test_zero_days_returns_start_or_next_opening(self) -> None:
        cal = moscow_office()
        assert cal.add_days(msk(2026, 1, 19, 10), 0) == msk(2026, 1, 19, 10)
        assert cal.add_days(msk(2026, 1, 17, 12), 0) == msk(2026, 1, 19, 7)

    def test_negative_days_rejected(self) -> None:
        with pytest.raises(ValueError, match="days must not be negative"):
            moscow_office().add_days(msk(2026, 1, 19, 10), -1)

    def test_counts_transferred_saturday(self) -> None:
        cal = moscow_office(
            extra_dates={date(2025, 11, 1): OFFICE},
            closed_dates={date(2025, 11, 3), date(2025, 11, 4)},
        )
        assert cal.add_days(msk(2025, 10, 31, 9), 1) == msk(2025, 11, 1, 9)
        assert cal.add_days(msk(2025, 10, 31, 9), 2) == msk(2025, 11, 5, 9)


class TestInputErrors:
    @pytest.mark.parametrize(
        "call",
        [
            lambda cal, naive: cal.add(naive, H),
            lambda cal, naive: cal.add_days(naive, 1),
            lambda cal, naive: cal.between(naive, msk(2026, 1, 1)),
            lambda cal, naive: cal.between(msk(2026, 1, 1), naive),
            lambda cal, naive: cal.is_open(naive),
            lambda cal, naive: cal.next_open(naive),
        ],
    )
    def test_naive_datetimes_rejected(self, call: Callable) -> None:
        naive = datetime(2026, 1, 19, 10)  # noqa: DTZ001 - the point of the test
        with pytest.raises(ValueError, match="naive datetime"):
            call(moscow_office(), naive)

    def test_negative_delta_rejected(self) -> None:
        with pytest.raises(ValueError, match="delta must not be negative"):
            moscow_office().add(msk(2026, 1, 19, 10), -H)

    def test_unknown_zone(self) -> None:
        with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
            CalendarMath("Mars/Olympus", {})

    @pytest.mark.parametrize(
        ("weekly", "message"),
        [
            ({0: [(time(17), time(9))]}, r"weekly\[0\]: interval 17:00:00-09:00:00 does not open"),
            ({0: [(time(9), time(9))]}, "does not open before it closes"),
            ({0: [(time(9), time(12)), (time(11), time(13))]}, "overlap"),
            ({0: [(time(9), time(0)), (time(10), time(11))]}, "overlap"),
            ({7: OFFICE}, "not a weekday"),
            ({0: [(time(9), time(12, tzinfo=UTC))]}, "not a naive datetime.time"),
            ({0: [(time(9),)]}, "not an .open, close. pair"),
        ],
    )
    def test_invalid_weekly_hours(self, weekly: dict, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            CalendarMath("Europe/Moscow", weekly)

    def test_touching_and_midnight_intervals_are_valid(self) -> None:
        cal = CalendarMath(
            "Europe/Moscow",
            {0: [(time(12), time(17)), (time(9), time(12))], 1: [(time(0), time(0))]},
        )
        assert cal.between(msk(2026, 1, 19), msk(2026, 1, 21)) == 8 * H + 24 * H

    def test_invalid_dated_hours(self) -> None:
        with pytest.raises(ValueError, match="no intervals"):
            moscow_office(extra_dates={date(2025, 11, 1): []})
        with pytest.raises(ValueError, match="both extra_dates and special_hours"):
            moscow_office(
                extra_dates={date(2025, 11, 1): OFFICE}, special_hours={date(2025, 11, 1): OFFICE}
            )
        with pytest.raises(ValueError, match="is not a date"):
            moscow_office(closed_dates={msk(2026, 1, 1)})
        with pytest.raises(ValueError, match=r"special_hours\[2026-12-30\]"):
            moscow_office(special_hours={date(2026, 12, 30): [(time(16), time(7))]})


class TestNoOpenTime:
    def test_calendar_without_open_time_raises_instead_of_looping(self) -> None:
        cal = CalendarMath("Europe/Moscow", {})
        with pytest.raises(NoOpenTimeError, match="next 10 years"):
            cal.add(msk(2026, 1, 19), H)
        with pytest.raises(NoOpenTimeError):
            cal.next_open(msk(2026, 1, 19))
        with pytest.raises(NoOpenTimeError):
            cal.add_days(msk(2026, 1, 19), 1)
        assert not cal.is_open(msk(2026, 1, 19))
        assert cal.between(msk(2026, 1, 1), msk(2027, 1, 1)) == timedelta(0)

    def test_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="raise horizon_years"):
            CalendarMath("Europe/Moscow", {}).next_open(msk(2026, 1, 19))

    def test_horizon_bounds_the_search(self) -> None:
        far = {date(2040, 6, 1): OFFICE}
        with pytest.raises(NoOpenTimeError):
            CalendarMath("Europe/Moscow", {}, extra_dates=far).next_open(msk(2026, 1, 1))
        cal = CalendarMath("Europe/Moscow", {}, extra_dates=far, horizon_years=20)
        assert cal.next_open(msk(2026, 1, 1)) == msk(2040, 6, 1, 7)

    def test_budget_beyond_horizon(self) -> None:
        with pytest.raises(NoOpenTimeError, match="cannot add"):
            moscow_office().add(msk(2026, 1, 19), 100_000 * H)


class TestCost:
    """Count internal operations, never wall-clock time."""

    @pytest.fixture
    def calls(self, monkeypatch: pytest.MonkeyPatch) -> Counter:
        calls: Counter = Counter()

        def counting(name: str, function: Callable) -> Callable:
            def wrapper(*args: object) -> object:
                calls[name] += 1
                return function(*args)

            return wrapper

        for name in ("bisect_left", "bisect_right"):
            monkeypatch.setattr(sla.calendar, name, counting("bisect", getattr(sla.calendar, name)))
        monkeypatch.setattr(
            CalendarMath,
            "_day_intervals",
            counting("day", CalendarMath._day_intervals),
        )
        return calls

    def test_long_and_short_budgets_cost_the_same(self, calls: Counter) -> None:
        cal = moscow_office(closed_dates=NEW_YEAR_2026)
        start = msk(2026, 2, 2, 7)
        cal.is_open(start)  # materialise the years around start
        calls.clear()
        cal.add(start, H)
        short = dict(calls)
        calls.clear()
        cal.add(start, 500 * H)
        assert dict(calls) == short == {"bisect": 2}

    def test_budget_past_the_materialised_years_grows_by_whole_years(self, calls: Counter) -> None:
        cal = moscow_office()
        start = msk(2026, 2, 2, 7)
        cal.is_open(start)
        calls.clear()
        result = cal.add(start, 15_000 * H)  # about six years of office hours
        assert cal.between(start, result) == 15_000 * H
        grown_years = result.year + 1 - 2027
        assert calls["day"] <= 366 * grown_years
        assert calls["bisect"] <= 2 * (grown_years + 1) + 2
