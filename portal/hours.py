"""Support hours and whether chat and phone are open now, from settings-level constants.

Built on ``sla.calendar.BusinessCalendar`` (pure Python). The SLA engine is getting its
own calendar rows in the database; until the two are unified these constants are the
portal's source of truth (see the issue 5 report).
"""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache

from django.utils import timezone

from sla.calendar import BusinessCalendar

SUPPORT_TIME_ZONE = "Europe/Amsterdam"
OFFICE_HOURS = ((time(9, 30), time(17, 0)),)
# Fridays the team meets 10:30-13:30 and 15:00-15:30: no chat, no phone then.
FRIDAY_CHAT_PHONE_HOURS = (
    (time(9, 30), time(10, 30)),
    (time(13, 30), time(15, 0)),
    (time(15, 30), time(17, 0)),
)
WEEKDAYS = range(5)  # Monday .. Friday
FRIDAY = 4


@lru_cache(maxsize=1)
def office_calendar() -> BusinessCalendar:
    """Return the office-hours calendar (email tickets are answered in these hours)."""
    return BusinessCalendar(SUPPORT_TIME_ZONE, {day: OFFICE_HOURS for day in WEEKDAYS})


@lru_cache(maxsize=1)
def chat_phone_calendar() -> BusinessCalendar:
    """Return the hours in which live chat and the phone line are staffed."""
    weekly = {day: OFFICE_HOURS for day in WEEKDAYS}
    weekly[FRIDAY] = FRIDAY_CHAT_PHONE_HOURS
    return BusinessCalendar(SUPPORT_TIME_ZONE, weekly)


def chat_phone_open(at: datetime | None = None) -> bool:
    """Return whether chat and phone are staffed at ``at`` (default: now)."""
    return chat_phone_calendar().is_open(at or timezone.now())


def next_chat_phone_opening(at: datetime | None = None) -> datetime:
    """Return when chat and phone open next (``at`` itself if open), in Amsterdam time."""
    return chat_phone_calendar().next_open(at or timezone.now())


def hours_table() -> list[tuple[str, str]]:
    """Return (days, hours) rows for the portal's support-hours box."""
    return [
        ("Monday to Thursday", "09:30 – 17:00 CET (email, chat, phone)"),
        ("Friday", "09:30 – 17:00 CET; chat and phone closed 10:30 – 13:30 and 15:00 – 15:30"),
        ("Saturday, Sunday", "closed; email tickets are answered on the next working day"),
    ]
