"""Support hours and whether chat and phone are open now, from the SLA calendar row.

Live chat and the phone line keep the hours of the support line's chat-and-phone
calendar (``sla.LineCalendar``; without one, the ``cet-phone-chat`` preset), a
``sla.BusinessCalendar`` row edited in the admin, so the portal, the chat
widget and the chat SLA clocks agree, public holidays and days off included. The row is
read on each call (one indexed query); the calendar math built from it is cached by
``sla.calendar_store.calendar_for`` per row version, so an admin edit applies at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time

from django.utils import timezone

from sla.calendar import CalendarMath, NoOpenTimeError
from sla.calendar_store import calendar_for, parse_weekly
from sla.models import BusinessCalendar as CalendarRow
from sla.models import LineCalendar
from tickets.models import SupportLine

logger = logging.getLogger(__name__)

# The SLA preset calendar chat and phone follow (sla/presets.py).
CHAT_PHONE_CALENDAR = "cet-phone-chat"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _chat_phone_row(line: SupportLine | None = None) -> CalendarRow | None:
    if line is not None and line.pk:  # the line's own chat and phone hours (LineCalendar)
        own = (
            LineCalendar.objects.filter(line=line, chat_phone_calendar__isnull=False)
            .select_related("chat_phone_calendar")
            .first()
        )
        if own is not None:
            return own.chat_phone_calendar
    row = CalendarRow.objects.filter(slug=CHAT_PHONE_CALENDAR).first()
    if row is None:
        # Closed rather than always open: a customer is offered the ticket form, never
        # a chat nobody staffs. Recreate it with `manage.py migrate` or in the admin.
        logger.warning(
            "SLA calendar %r is missing: chat and phone show as closed.", CHAT_PHONE_CALENDAR
        )
    return row


def chat_phone_calendar(line: SupportLine | None = None) -> CalendarMath | None:
    """Return the hours in which the line's live chat and phone are staffed (the
    ``cet-phone-chat`` preset without a line or a line calendar), if configured."""
    row = _chat_phone_row(line)
    return calendar_for(row) if row is not None else None


def chat_phone_open(at: datetime | None = None, line: SupportLine | None = None) -> bool:
    """Return whether chat and phone are staffed at ``at`` (default: now)."""
    calendar = chat_phone_calendar(line)
    return calendar is not None and calendar.is_open(at or timezone.now())


def next_chat_phone_opening(
    at: datetime | None = None, line: SupportLine | None = None
) -> datetime | None:
    """Return when chat and phone open next (``at`` itself if open), or None if never."""
    calendar = chat_phone_calendar(line)
    if calendar is None:
        return None
    try:
        return calendar.next_open(at or timezone.now())
    except NoOpenTimeError:  # a calendar with no open hour within its horizon
        return None


@dataclass(frozen=True)
class SupportHours:
    """The chat and phone week for the portal's hours box."""

    rows: list[tuple[str, str]]  # (days, hours), consecutive days with equal hours joined
    place: str  # the time zone's city, e.g. "Amsterdam"
    holidays: str  # ISO country whose public holidays close the line, or ""


def support_hours(line: SupportLine | None = None) -> SupportHours | None:
    """Return the chat and phone week as the calendar row defines it, if there is one."""
    row = _chat_phone_row(line)
    if row is None:
        return None
    weekly = parse_weekly(row.weekly_hours)
    groups: list[tuple[list[int], list[tuple[time, time]]]] = []
    for day in range(7):
        hours = weekly.get(day, [])
        if groups and groups[-1][1] == hours and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], hours))
    return SupportHours(
        rows=[(_days_label(days), _hours_label(hours)) for days, hours in groups],
        place=row.tz.rsplit("/", 1)[-1].replace("_", " "),
        holidays=row.holiday_country,
    )


def _days_label(days: list[int]) -> str:
    if len(days) == 1:
        return DAY_NAMES[days[0]]
    joiner = " and " if len(days) == 2 else " to "
    return f"{DAY_NAMES[days[0]]}{joiner}{DAY_NAMES[days[-1]]}"


def _hours_label(hours: list[tuple[time, time]]) -> str:
    if not hours:
        return "closed"
    return ", ".join(f"{a:%H:%M} – {'24:00' if b == time(0) else f'{b:%H:%M}'}" for a, b in hours)
