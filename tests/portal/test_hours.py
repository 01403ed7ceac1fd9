"""Chat and phone hours come from the SLA engine's ``cet-phone-chat`` calendar row."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from portal.hours import chat_phone_open, next_chat_phone_opening, support_hours
from portal.presence import chat_available, presence_set
from sla.calendar_store import calendar_bump
from sla.models import BusinessCalendar, CalendarException

pytestmark = pytest.mark.django_db
WEDNESDAY_NOON = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)  # 12:00 in Amsterdam
SATURDAY_NOON = datetime(2026, 6, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def calendar(chat_calendar) -> BusinessCalendar:
    return chat_calendar


def test_a_day_off_in_the_calendar_closes_chat_and_phone(calendar, agent):
    assert chat_phone_open(WEDNESDAY_NOON)
    CalendarException.objects.create(
        calendar=calendar, date=date(2026, 6, 3), kind="closed", name="Company day off"
    )
    calendar_bump(calendar)
    assert not chat_phone_open(WEDNESDAY_NOON)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        presence_set(user=agent, available=True)
        assert not chat_available()  # an agent online does not open a closed calendar
    assert next_chat_phone_opening(WEDNESDAY_NOON) == datetime(2026, 6, 4, 7, 30, tzinfo=UTC)


def test_edited_weekly_hours_apply_at_once(calendar):
    assert not chat_phone_open(SATURDAY_NOON)
    calendar.weekly_hours = {**calendar.weekly_hours, "5": [["10:00", "14:00"]]}
    calendar.save(update_fields=["weekly_hours"])
    calendar_bump(calendar)
    assert chat_phone_open(SATURDAY_NOON)
    assert ("Saturday", "10:00 – 14:00") in support_hours().rows


def test_hours_box_shows_the_calendars_week(client, calendar):
    client.get("/portal/line/reseller/")  # the reseller's portal: its chat and phone hours
    with time_machine.travel(SATURDAY_NOON, tick=False):
        page = client.get("/portal/").content.decode()
    for text in (
        "<th>Monday to Thursday</th><td>09:30 – 17:00</td>",
        "<th>Friday</th><td>09:30 – 10:30, 13:30 – 15:00, 15:30 – 17:00</td>",
        "<th>Saturday and Sunday</th><td>closed</td>",
        "Amsterdam time; closed on public holidays (NL)",
    ):
        assert text in page, text
    # Monday 8 June 09:30 in Amsterdam, not in UTC (07:30).
    assert "open again Monday 8 June, 09:30 (Amsterdam time)" in page


def test_without_the_calendar_row_chat_and_phone_are_closed(client, calendar, agent, caplog):
    calendar.slug = "cet-phone-chat-old"  # policies protect the row from deletion
    calendar.save(update_fields=["slug"])
    assert not chat_phone_open(WEDNESDAY_NOON)
    assert next_chat_phone_opening(WEDNESDAY_NOON) is None
    assert "cet-phone-chat" in caplog.text
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        presence_set(user=agent, available=True)
        assert not chat_available()
        response = client.get("/portal/")
    assert response.status_code == 200 and "closed now" in response.content.decode()
