"""Hand-computed deadlines on the four preset calendars, through the real services.

Tickets are opened and changed through tickets.services with a frozen clock
(time-machine); `ticket_sla_recompute` then replays their history. Every expected
instant is worked out by hand in the test's docstring or comments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from sla.models import TicketSla
from sla.services import ticket_sla_recompute
from tickets.models import Department
from tickets.services import (
    MessageIn,
    message_add,
    ticket_department_set,
    ticket_merge,
    ticket_open,
    ticket_status_set,
)

from .conftest import ams, msk

pytestmark = pytest.mark.django_db


def utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def opened(when: datetime, department: str, channel: str = "email", severity: int = 3):
    with time_machine.travel(when, tick=False):
        return ticket_open(
            subject="Printer on fire",
            department=Department.objects.get(slug=department),
            severity=severity,
            message=MessageIn(channel=channel, body_text="Help!"),
        ).ticket


def sla_at(ticket, now: datetime) -> TicketSla:
    return ticket_sla_recompute(ticket.pk, now=now)


def reply(ticket, when: datetime, agent, *, note: bool = False) -> None:
    with time_machine.travel(when, tick=False):
        message_add(
            ticket=ticket,
            message=MessageIn(
                channel="note" if note else "email",
                direction="internal" if note else "outbound",
                body_text="On it.",
                author_user=agent,
            ),
        )


def customer_writes(ticket, when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        message_add(ticket=ticket, message=MessageIn(channel="email", body_text="Any news?"))


def status(ticket, when: datetime, new_status: str) -> None:
    with time_machine.travel(when, tick=False):
        ticket_status_set(ticket=ticket, status=new_status)


# --- Moscow customer support: Mon-Fri 07:00-17:00, pre-holiday days an hour shorter ----


def test_message_at_1655_friday_moscow_is_due_0755_monday(presets):
    """5 minutes on Friday 2026-11-20 plus 55 on Monday 2026-11-23 from 07:00."""
    ticket = opened(msk(2026, 11, 20, 16, 55), "customer-support")
    sla = sla_at(ticket, msk(2026, 11, 20, 16, 56))
    assert sla.policy.slug == "customer-support"
    assert utc(sla.first_response_due) == utc(msk(2026, 11, 23, 7, 55))
    assert sla.first_response_state == "running"
    assert sla.explanation["targets"]["first_response"]["target"] == "1 business hour"


def test_russian_working_saturday_2025_11_01_counts_and_is_an_hour_short(presets):
    """Friday 2025-10-31 16:30: 30 min left, then the working Saturday 2025-11-01 (07:00).

    That Saturday gave its day off to Monday 11-03, the eve of Unity Day (11-04), so it
    closes at 16:00: a ticket at 15:30 on it is due 30 min later plus 30 min on
    Wednesday 11-05 (11-02 Sunday, 11-03 day off, 11-04 holiday).
    """
    friday = opened(msk(2025, 10, 31, 16, 30), "customer-support")
    assert utc(sla_at(friday, msk(2025, 10, 31, 16, 31)).first_response_due) == utc(
        msk(2025, 11, 1, 7, 30)
    )
    saturday = opened(msk(2025, 11, 1, 15, 30), "customer-support")
    sla = sla_at(saturday, msk(2025, 11, 1, 15, 31))
    assert utc(sla.first_response_due) == utc(msk(2025, 11, 5, 7, 30))
    days = {d["date"]: d for d in sla.explanation["targets"]["first_response"]["days"]}
    assert days["2025-11-01"]["hours"] == "07:00-16:00"
    assert days["2025-11-04"]["hours"] == "closed"
    assert "Unity Day" in days["2025-11-04"]["why"]


def test_pre_holiday_day_is_an_hour_shorter(presets):
    """2026-04-30 closes at 16:00 (May Day follows): 15:30 + 1h = 05-04 07:30.

    05-01 is a holiday, 05-02/03 the weekend.
    """
    ticket = opened(msk(2026, 4, 30, 15, 30), "customer-support")
    assert utc(sla_at(ticket, msk(2026, 4, 30, 15, 31)).first_response_due) == utc(
        msk(2026, 5, 4, 7, 30)
    )


# --- Moscow technical support: Mon-Fri 08:00-17:00 ---------------------------------------


def test_new_year_holidays_2026_push_both_clocks_past_01_11(presets, agent):
    """Tuesday 2025-12-30 16:30; 12-31 is a day off and 01-01..01-11 the New Year holidays.

    First response: 30 min on 12-30, 30 min on Monday 01-12 -> 08:30. Resolution, 5
    working days: 01-12, 13, 14, 15, 16 -> Friday 2026-01-16 16:30.
    """
    ticket = opened(msk(2025, 12, 30, 16, 30), "technical-support")
    sla = sla_at(ticket, msk(2025, 12, 30, 16, 31))
    assert sla.policy.slug == "technical-support"
    assert utc(sla.first_response_due) == utc(msk(2026, 1, 12, 8, 30))
    assert utc(sla.resolution_due) == utc(msk(2026, 1, 16, 16, 30))
    days = sla.explanation["targets"]["first_response"]["days"]
    closed = [d["date"] for d in days if d["hours"] == "closed"]
    assert closed[0] == "2025-12-31" and "2026-01-11" in closed and len(closed) == 12


def test_s1_on_a_sunday_is_due_three_calendar_hours_later(presets):
    """Sunday 2026-11-22 10:00 Moscow: closed, so 3 calendar hours -> 13:00 the same day."""
    ticket = opened(msk(2026, 11, 22, 10, 0), "technical-support", severity=1)
    sla = sla_at(ticket, msk(2026, 11, 22, 10, 1))
    assert sla.policy.slug == "technical-support-s1"
    assert utc(sla.first_response_due) == utc(msk(2026, 11, 22, 13, 0))
    notes = sla.explanation["targets"]["first_response"]["notes"]
    assert any("started on a day off (Sunday 2026-11-22)" in n for n in notes)
    assert sla.explanation["targets"]["first_response"]["clock"] == "days_off"


def test_s1_while_open_gets_one_business_hour(presets):
    """Friday 2026-11-20 16:30 (open): 30 min + Monday 08:00-08:30."""
    ticket = opened(msk(2026, 11, 20, 16, 30), "technical-support", severity=1)
    sla = sla_at(ticket, msk(2026, 11, 20, 16, 31))
    assert utc(sla.first_response_due) == utc(msk(2026, 11, 23, 8, 30))


def test_s1_early_monday_takes_the_earlier_business_deadline(presets):
    """Monday 06:30 (closed): 1 business hour ends 09:00, 3 calendar hours 09:30 -> 09:00."""
    ticket = opened(msk(2026, 11, 23, 6, 30), "technical-support", severity=1)
    assert utc(sla_at(ticket, msk(2026, 11, 23, 6, 31)).first_response_due) == utc(
        msk(2026, 11, 23, 9, 0)
    )


def test_pending_customer_pause_over_a_weekend_shifts_resolution(presets):
    """Opened Monday 2026-11-16 10:00; 5 working days = Monday 11-23 10:00 = 45 business h.

    Pending customer from Friday 11-20 15:00 to Monday 11-23 11:00. Used before the pause:
    7 (Mon) + 27 (Tue-Thu) + 7 (Fri 08-15) = 41 h; 4 h remain from 11:00 -> 15:00.
    """
    ticket = opened(msk(2026, 11, 16, 10, 0), "technical-support")
    status(ticket, msk(2026, 11, 20, 15, 0), "pending_customer")
    paused = sla_at(ticket, msk(2026, 11, 21, 12, 0))
    assert paused.paused and paused.resolution_state == "paused"
    assert paused.resolution_due is None
    assert paused.explanation["targets"]["resolution"]["risk_at"] is None
    customer_writes(ticket, msk(2026, 11, 23, 11, 0))  # reopens: pending -> open
    sla = sla_at(ticket, msk(2026, 11, 23, 11, 1))
    assert not sla.paused and sla.resolution_state == "running"
    assert utc(sla.resolution_due) == utc(msk(2026, 11, 23, 15, 0))
    pauses = sla.explanation["targets"]["resolution"]["pauses"]
    assert pauses == [
        [utc(msk(2026, 11, 20, 15)).isoformat(), utc(msk(2026, 11, 23, 11)).isoformat()]
    ]


# --- CET office (email) and CET phone & chat ----------------------------------------------


def test_email_across_the_spring_forward_weekend_2026_03_29(presets):
    """Legal/abuse email Friday 2026-03-27 16:00 CET: 8 business hours (09:00-17:00) ->
    1 h on Friday and 7 h on Monday: 16:00 CEST. In UTC 15:00 -> 14:00: the weekend lost
    an hour, business time is the same.
    """
    ticket = opened(ams(2026, 3, 27, 16, 0), "legal-abuse")
    sla = sla_at(ticket, ams(2026, 3, 27, 16, 1))
    assert sla.policy.slug == "legal-abuse"
    assert utc(sla.first_response_due) == datetime(2026, 3, 30, 14, 0, tzinfo=UTC)


def test_email_across_the_fall_back_weekend_2026_10_25(presets, agent):
    """Friday 2026-10-23 16:00 CEST -> Monday 10-26 16:00 CET (15:00 UTC).

    The follow-up written Monday 10-26 at 16:30 CET gets 2 working days: Wednesday 16:30.
    """
    ticket = opened(ams(2026, 10, 23, 16, 0), "legal-abuse")
    sla = sla_at(ticket, ams(2026, 10, 23, 16, 1))
    assert utc(sla.first_response_due) == datetime(2026, 10, 26, 15, 0, tzinfo=UTC)
    reply(ticket, ams(2026, 10, 26, 10, 0), agent)
    customer_writes(ticket, ams(2026, 10, 26, 16, 30))
    sla = sla_at(ticket, ams(2026, 10, 26, 16, 31))
    assert sla.first_response_state == "met" and not sla.first_response_breached
    # Friday 16:00-17:00 and Monday 09:00-10:00 on the 09:00-17:00 email calendar.
    assert sla.first_response_seconds == int(timedelta(hours=2).total_seconds())
    assert sla.next_response_state == "running"
    assert utc(sla.next_response_due) == utc(ams(2026, 10, 28, 16, 30))


def test_chat_skips_the_friday_meetings(presets):
    """Reseller chat Friday 2026-11-20 10:00 CET: 10:00-10:30, meeting until 13:30, -> 14:00.

    Another at 14:45: 15 min, meeting 15:00-15:30, then 45 min -> 16:15.
    """
    morning = opened(ams(2026, 11, 20, 10, 0), "reseller-support", channel="chat")
    sla = sla_at(morning, ams(2026, 11, 20, 10, 1))
    assert sla.policy.slug == "cet-phone-chat"
    assert utc(sla.first_response_due) == utc(ams(2026, 11, 20, 14, 0))
    afternoon = opened(ams(2026, 11, 20, 14, 45), "reseller-support", channel="chat")
    assert utc(sla_at(afternoon, ams(2026, 11, 20, 14, 46)).first_response_due) == utc(
        ams(2026, 11, 20, 16, 15)
    )


# --- clock rules ---------------------------------------------------------------------------


def test_a_note_does_not_answer_but_a_reply_does(presets, agent):
    ticket = opened(msk(2026, 11, 23, 9, 0), "customer-support")
    reply(ticket, msk(2026, 11, 23, 9, 20), agent, note=True)
    sla = sla_at(ticket, msk(2026, 11, 23, 9, 21))
    assert sla.first_response_state == "running"
    reply(ticket, msk(2026, 11, 23, 10, 30), agent)
    sla = sla_at(ticket, msk(2026, 11, 23, 10, 31))
    assert sla.first_response_state == "met"
    assert sla.first_response_breached  # due 10:00, answered 10:30
    assert utc(sla.first_response_at) == utc(msk(2026, 11, 23, 10, 30))


def test_each_customer_follow_up_restarts_next_response(presets, agent):
    ticket = opened(msk(2026, 11, 23, 9, 0), "customer-support")
    reply(ticket, msk(2026, 11, 23, 9, 10), agent)
    customer_writes(ticket, msk(2026, 11, 23, 12, 0))
    customer_writes(ticket, msk(2026, 11, 23, 12, 30))  # same wait: the clock keeps 12:00
    sla = sla_at(ticket, msk(2026, 11, 23, 12, 31))
    assert utc(sla.next_response_due) == utc(msk(2026, 11, 23, 13, 0))
    reply(ticket, msk(2026, 11, 23, 12, 45), agent)
    customer_writes(ticket, msk(2026, 11, 23, 16, 30))
    sla = sla_at(ticket, msk(2026, 11, 23, 16, 31))
    assert utc(sla.next_response_due) == utc(msk(2026, 11, 24, 7, 30))


def test_merged_duplicate_stops_and_survivor_keeps_the_earliest_start(presets):
    duplicate = opened(msk(2026, 11, 23, 8, 0), "customer-support")
    survivor = opened(msk(2026, 11, 23, 9, 0), "customer-support")
    with time_machine.travel(msk(2026, 11, 23, 9, 30), tick=False):
        ticket_merge(source=duplicate, target=survivor)
    gone = sla_at(duplicate, msk(2026, 11, 23, 9, 31))
    assert gone.first_response_state == "stopped" and gone.next_check_at is None
    kept = sla_at(survivor, msk(2026, 11, 23, 9, 31))
    assert utc(kept.started_at) == utc(msk(2026, 11, 23, 8, 0))
    assert utc(kept.first_response_due) == utc(msk(2026, 11, 23, 9, 0))


def test_department_change_is_recorded_and_switches_policy(presets):
    ticket = opened(msk(2026, 11, 23, 9, 0), "customer-support")
    assert sla_at(ticket, msk(2026, 11, 23, 9, 1)).policy.slug == "customer-support"
    with time_machine.travel(msk(2026, 11, 23, 9, 15), tick=False):
        ticket_department_set(
            ticket=ticket, department=Department.objects.get(slug="technical-support")
        )
    sla = sla_at(ticket, msk(2026, 11, 23, 9, 16))
    assert sla.policy.slug == "technical-support"
    assert sla.calendar.slug == "moscow-technical"
    assert len(sla.explanation["escalations"]) == 1
    # The start stays 09:00; 1 business hour on 08:00-17:00 -> 10:00.
    assert utc(sla.first_response_due) == utc(msk(2026, 11, 23, 10, 0))


def test_solving_meets_resolution_and_stops_response_clocks(presets):
    ticket = opened(msk(2026, 11, 23, 9, 0), "technical-support")
    status(ticket, msk(2026, 11, 24, 9, 0), "solved")
    sla = sla_at(ticket, msk(2026, 11, 24, 9, 1))
    assert sla.resolution_state == "met" and not sla.resolution_breached
    assert sla.first_response_state == "stopped" and sla.first_response_breached
    assert sla.next_check_at is None


def test_recompute_is_idempotent(presets, agent, django_assert_max_num_queries):
    ticket = opened(msk(2026, 11, 23, 9, 0), "technical-support")
    reply(ticket, msk(2026, 11, 23, 9, 5), agent)
    first = sla_at(ticket, msk(2026, 11, 23, 9, 6))
    second = sla_at(ticket, msk(2026, 11, 23, 9, 7))
    assert second.computed_at == first.computed_at  # nothing changed, nothing written
    values = TicketSla.objects.filter(pk=ticket.pk).values().get()
    sla_at(ticket, msk(2026, 11, 23, 9, 8))
    assert TicketSla.objects.filter(pk=ticket.pk).values().get() == values
