"""The calendar rows' side: a `sla.models.BusinessCalendar` row → its pure
`sla.calendar.CalendarMath` math (``calendar_for``, cached per row version), and public
holidays materialised per year.

Holidays come from the `holidays` package: every date it lists closes the calendar
(public holidays, transferred days off, observed days); `weekend_workdays` (Russia's
transferred working Saturdays) open with the calendar's Monday hours. With
`short_day_before_holiday`, the working day right before a public holiday closes one
hour earlier, and so does a transferred working Saturday whose day off sits right before
one (2025-11-01 gave its day off to 2025-11-03, the eve of Unity Day), as the Russian
production calendar does. Manual exceptions override the package's for the same date.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps as django_apps
from django.db import transaction
from django.db.models import F

from .calendar import CalendarMath

_CACHE: dict[tuple[int, int], CalendarMath] = {}
_CACHE_LOCK = threading.Lock()
_SUBSTITUTED = re.compile(r"substituted from (\d\d)/(\d\d)/(\d{4})")
ALWAYS_OPEN = {day: [(time(0), time(0))] for day in range(7)}


def parse_hours(raw: Any, where: str) -> list[tuple[time, time]]:
    """Return `[["07:00", "17:00"], …]` as time pairs, or raise ValueError saying what is wrong."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValueError(f'{where}: give a list of ["HH:MM", "HH:MM"] pairs, got {raw!r}')
    out = []
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f'{where}: {pair!r} is not an ["HH:MM", "HH:MM"] pair')
        try:
            out.append((time.fromisoformat(pair[0]), time.fromisoformat(pair[1])))
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {pair!r} has a time that is not HH:MM") from None
    return out


def parse_weekly(raw: Any) -> dict[int, list[tuple[time, time]]]:
    """Return weekly hours keyed by weekday number; raise ValueError on a bad key or time."""
    if not isinstance(raw, dict):
        raise ValueError('weekly hours: give an object like {"0": [["09:00", "17:00"]]}')
    weekly = {}
    for key, hours in raw.items():
        if str(key) not in {str(d) for d in range(7)}:
            raise ValueError(f"weekly hours: {key!r} is not a weekday; use 0 (Monday) to 6")
        weekly[int(key)] = parse_hours(hours, f"weekly hours of day {key}")
    # Validate intervals (order, overlaps) with the calendar math itself.
    CalendarMath("UTC", weekly)
    return weekly


def format_hours(hours: Iterable[tuple[time, time]]) -> list[list[str]]:
    return [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in hours]


def calendar_for(row: Any) -> CalendarMath:
    """Return the calendar math for a `sla.BusinessCalendar` row, cached per id and version."""
    if row is None:
        return _always_open()
    key = (row.pk, row.version)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    weekly = parse_weekly(row.weekly_hours)
    closed: set[date] = set()
    extra: dict[date, list[tuple[time, time]]] = {}
    special: dict[date, list[tuple[time, time]]] = {}
    # Holidays first, manual exceptions after: a manual entry replaces the package's.
    by_date: dict[date, Any] = {}
    for exc in sorted(row.exceptions.all(), key=lambda e: e.source != "holidays"):
        by_date[exc.date] = exc
    for day, exc in by_date.items():
        hours = parse_hours(exc.hours, f"{row.name} {day}")
        if exc.kind == "closed":
            closed.add(day)
        elif exc.kind == "extra":
            extra[day] = hours
        else:
            special[day] = hours
    math = CalendarMath(row.tz, weekly, closed, extra, special)
    with _CACHE_LOCK:
        for stale in [k for k in _CACHE if k[0] == row.pk]:
            del _CACHE[stale]
        _CACHE[key] = math
    return math


def _always_open() -> CalendarMath:
    key = (0, 0)
    if key not in _CACHE:
        _CACHE[key] = CalendarMath("UTC", ALWAYS_OPEN)
    return _CACHE[key]


def calendar_bump(calendar: Any) -> None:
    """Mark the calendar changed so every process rebuilds it."""
    from django.utils import timezone

    type(calendar).objects.filter(pk=calendar.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    calendar.refresh_from_db(fields=["version", "updated_at"])


def holiday_exceptions(
    country: str, years: Iterable[int], weekly: dict[int, list[tuple[time, time]]], short_day: bool
) -> list[tuple[date, str, list[tuple[time, time]], str]]:
    """Return (date, kind, hours, name) for one country's holidays in `years`.

    Pure apart from the `holidays` package, so the rules can be tested on their own.
    """
    import holidays

    years = sorted(set(years))
    # A year either side so the eve of 1 January and transfers across years are seen.
    span = list(range(years[0] - 1, years[-1] + 2))
    table = holidays.country_holidays(country, years=span)
    off = dict(table.items())
    workdays = set(getattr(table, "weekend_workdays", set()) or set())
    real_holidays = {
        d for d, name in off.items() if "substituted" not in name and "observed" not in name
    }
    # Which transferred working Saturday gave its day off to which date.
    gave_day_off_to: dict[date, date] = {}
    for day, name in off.items():
        if match := _SUBSTITUTED.search(name):
            month, dom, year = (int(g) for g in match.groups())
            gave_day_off_to[date(year, month, dom)] = day
    standard = next((weekly[d] for d in range(7) if weekly.get(d)), [])

    def is_working(day: date) -> bool:
        if day in off:
            return False
        return day in workdays or bool(weekly.get(day.weekday()))

    def is_short(day: date) -> bool:
        if not short_day or not is_working(day):
            return False
        if day + timedelta(days=1) in real_holidays:
            return True
        # A working Saturday stands in for the weekday it made a day off.
        moved = gave_day_off_to.get(day)
        return moved is not None and moved + timedelta(days=1) in real_holidays

    wanted = set(years)
    out: list[tuple[date, str, list[tuple[time, time]], str]] = []
    for day in sorted(off):
        if day.year in wanted:
            out.append((day, "closed", [], off[day]))
    for day in sorted(workdays):
        if day.year in wanted:
            hours = _shortened(standard) if is_short(day) else list(standard)
            out.append((day, "extra", hours, "Transferred working day"))
    if short_day:
        day, end = date(years[0], 1, 1), date(years[-1] + 1, 1, 1)
        while day < end:
            if day not in workdays and is_short(day):
                out.append((day, "special", _shortened(weekly[day.weekday()]), "Pre-holiday day"))
            day += timedelta(days=1)
    return out


def _shortened(hours: list[tuple[time, time]]) -> list[tuple[time, time]]:
    """Return the hours with the last interval closing one hour earlier."""
    if not hours:
        return []
    *head, (open_at, close_at) = hours
    close_dt = datetime.combine(date(2000, 1, 2 if close_at == time(0) else 1), close_at)
    new_close = (close_dt - timedelta(hours=1)).time()
    return [*head, (open_at, new_close)] if new_close > open_at else list(head)


def holidays_sync(calendar: Any, years: Iterable[int], *, apps: Any = None) -> int:
    """Materialise the calendar's public holidays for `years`; return the rows written.

    Replaces the `holidays`-sourced exceptions of those years and leaves manual ones alone.
    """
    registry = apps or django_apps
    exception_model = registry.get_model("sla", "CalendarException")
    years = sorted(set(years))
    if not calendar.holiday_country or not years:
        return 0
    weekly = parse_weekly(calendar.weekly_hours)
    rows = [
        exception_model(
            calendar_id=calendar.pk,
            date=day,
            kind=kind,
            hours=format_hours(hours),
            source="holidays",
            name=name[:200],
        )
        for day, kind, hours, name in holiday_exceptions(
            calendar.holiday_country, years, weekly, calendar.short_day_before_holiday
        )
    ]
    with transaction.atomic():
        exception_model.objects.filter(
            calendar_id=calendar.pk, source="holidays", date__year__in=years
        ).delete()
        exception_model.objects.bulk_create(rows)
        type(calendar).objects.filter(pk=calendar.pk).update(version=F("version") + 1)
    return len(rows)


def holidays_sync_all(years: Iterable[int], *, apps: Any = None) -> dict[str, int]:
    """Materialise holidays for every calendar with a country; return rows per calendar."""
    registry = apps or django_apps
    model = registry.get_model("sla", "BusinessCalendar")
    years = list(years)
    return {
        cal.name: holidays_sync(cal, years, apps=registry)
        for cal in model.objects.exclude(holiday_country="")
    }
