"""Calendar rows: holidays materialised from the `holidays` package, manual days, policies."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from sla.calendar_store import calendar_bump, calendar_for, holiday_exceptions
from sla.models import BusinessCalendar, CalendarException, SlaPolicy
from sla.services import policy_for
from tickets.models import Department, Ticket

MON_FRI = {d: [(time(7), time(17))] for d in range(5)}


def test_russia_2025_closes_transferred_days_and_opens_the_working_saturday():
    rows = {
        day: (kind, hours)
        for day, kind, hours, _ in holiday_exceptions("RU", [2025], MON_FRI, True)
    }
    assert rows[date(2025, 11, 3)][0] == "closed"  # day off moved from Saturday 11-01
    assert rows[date(2025, 11, 4)][0] == "closed"  # Unity Day
    assert rows[date(2025, 11, 1)] == ("extra", [(time(7), time(16))])  # short: eve of 11-03/04
    # The four pre-holiday days of the 2025 production calendar (1972 h at 40 h a week).
    short = sorted(d for d, (kind, _) in rows.items() if kind in ("special", "extra"))
    assert short == [date(2025, 3, 7), date(2025, 4, 30), date(2025, 6, 11), date(2025, 11, 1)]


def test_new_year_2026_is_closed_from_the_first_to_the_eleventh():
    rows = {day: kind for day, kind, _, _ in holiday_exceptions("RU", [2026], MON_FRI, False)}
    assert all(rows.get(date(2026, 1, d)) == "closed" for d in range(1, 10))  # 10/11: weekend


def test_without_the_short_day_rule_the_saturday_has_full_hours():
    rows = {
        day: (kind, hours)
        for day, kind, hours, _ in holiday_exceptions("RU", [2025], MON_FRI, False)
    }
    assert rows[date(2025, 11, 1)] == ("extra", [(time(7), time(17))])
    assert date(2025, 4, 30) not in rows


@pytest.mark.django_db
def test_manual_day_off_overrides_and_bumps_the_version(presets):
    cal_row = presets["cet-office"]
    before = calendar_for(cal_row)
    assert before.is_working_day(date(2026, 12, 24))
    CalendarException.objects.create(
        calendar=cal_row, date=date(2026, 12, 24), kind="closed", name="Company day off"
    )
    calendar_bump(cal_row)
    after = calendar_for(cal_row)
    assert not after.is_working_day(date(2026, 12, 24))
    # A manual extra day reopens a date the holidays package closes (Good Friday).
    CalendarException.objects.create(
        calendar=cal_row, date=date(2026, 4, 3), kind="extra", hours=[["09:30", "17:00"]]
    )
    calendar_bump(cal_row)
    assert calendar_for(cal_row).is_working_day(date(2026, 4, 3))


@pytest.mark.django_db
def test_sync_command_is_idempotent(presets):
    out = StringIO()
    call_command("sla_sync_holidays", "2027", stdout=out)
    call_command("sla_sync_holidays", "2027", stdout=out)
    assert "Moscow customer support" in out.getvalue()
    cal_row = presets["moscow-technical"]
    days = CalendarException.objects.filter(calendar=cal_row, date__year=2027, source="holidays")
    assert days.count() == days.values("date").distinct().count() > 10


@pytest.mark.django_db
def test_bad_weekly_hours_are_refused_with_a_hint():
    row = BusinessCalendar(name="x", slug="x", tz="Europe/Moscow", weekly_hours={"7": []})
    with pytest.raises(ValidationError, match="0 \\(Monday\\) to 6"):
        row.full_clean()
    row.weekly_hours = {"0": [["17:00", "07:00"]]}
    with pytest.raises(ValidationError, match="does not open before it closes"):
        row.full_clean()


@pytest.mark.django_db
def test_most_specific_policy_wins_line_then_department_then_channel(presets):
    tech = Department.objects.get(slug="technical-support")
    ticket = Ticket(department=tech, line=tech.line, severity=1, origin_channel="email")
    assert policy_for(ticket).slug == "technical-support-s1"  # line + department + severity
    ticket.severity = 3
    assert policy_for(ticket).slug == "technical-support"
    # No line: less specific than any policy of the line, whatever else it names.
    SlaPolicy.objects.create(
        name="Tech email, any line",
        slug="tech-email-any",
        department=tech,
        channel="email",
        severity=3,
        first_response_amount=Decimal(2),
    )
    assert policy_for(ticket).slug == "technical-support"
    SlaPolicy.objects.create(
        name="Tech email",
        slug="tech-email",
        line=tech.line,
        department=tech,
        channel="email",
        order=99,
        first_response_amount=Decimal(2),
    )
    assert policy_for(ticket).slug == "tech-email"


@pytest.mark.django_db
def test_recompute_command_fills_live_tickets(presets):
    from sla.models import TicketSla
    from tickets.services import MessageIn, ticket_open

    ticket = ticket_open(
        subject="Backfill",
        department=Department.objects.get(slug="technical-support"),
        message=MessageIn(channel="email", body_text="old ticket"),
    ).ticket
    out = StringIO()
    call_command("sla_recompute", stdout=out)
    assert "1 ticket(s)" in out.getvalue()
    assert TicketSla.objects.get(pk=ticket.pk).policy.slug == "technical-support"
