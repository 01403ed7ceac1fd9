"""The deadlines of both source pages, hand-computed, on the paths customers use.

Rule 1 (reseller email on its own CET calendar), rule 2 (abuse from any path gets the
legal team's email deadlines), rule 3 (every channel of each line has its targets), rule
6 (S1: 1 business hour on working days, 3 calendar hours on days off, the earlier wins),
rule 7 (technical follow-ups; shortened pre-holiday days on both Moscow calendars) and
rule 13 (times in the calendar's zone, real time left on a weekend S1, department names).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from channels_app.inbound import inbound_process, inbound_store
from sla.models import TicketSla
from sla.services import ticket_sla_recompute
from tests.factories import AccountFactory, ContactFactory
from tickets.models import Channel, Department, SupportLine, Ticket
from tickets.services import MessageIn, message_add, ticket_department_set, ticket_open

from .conftest import ams, msk

pytestmark = pytest.mark.django_db

RESELLER_INBOX = "reseller@supportdesk.localhost"


def utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


@pytest.fixture
def anna(presets):
    """A verified owner of a reseller account of the reseller line."""
    account = AccountFactory(
        name="Northwind", reseller_id="200417", line=SupportLine.objects.get(slug="reseller")
    )
    return ContactFactory(
        account=account, name="Anna", email="anna@northwind.example", role="owner", verified=True
    )


def mail_at(
    when: datetime,
    *,
    to: str = RESELLER_INBOX,
    subject: str = "Transfer stuck",
    body: str = "Reseller ID 200417. The transfer of northwind.nl is stuck.",
) -> Ticket:
    """Deliver a mail (as it reaches the desk at ``when``) through the email pipeline."""
    raw = (
        f"From: Anna <anna@northwind.example>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S %z')}\r\n"
        f"Message-ID: <{when.timestamp()}-{subject.replace(' ', '')}@northwind.example>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()
    with time_machine.travel(when, tick=False):
        record, _ = inbound_store(channel=Channel.EMAIL, source="test", raw=raw, enqueue=False)
        record = inbound_process(record.pk)
    assert record.message_id, record.error
    return record.message.ticket


def sla_at(ticket: Ticket, now: datetime) -> TicketSla:
    return ticket_sla_recompute(ticket.pk, now=now)


# --- rule 1: the reseller's email --------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "due", "why"),
    [
        # Monday 16:00: 1 h on Monday, 7 h on Tuesday from 09:00 (not 06:00 on Moscow time).
        (ams(2026, 11, 23, 16, 0), ams(2026, 11, 24, 16, 0), ""),
        # Friday 2 January: 7 h, then Monday 5 January 09:00-10:00 (no Russian holidays).
        (ams(2026, 1, 2, 10, 0), ams(2026, 1, 5, 10, 0), ""),
        # King's Day (Monday 27 April) is a Dutch holiday: Tuesday 09:00-17:00.
        (ams(2026, 4, 27, 11, 0), ams(2026, 4, 28, 17, 0), "King's Day"),
    ],
)
def test_reseller_mail_is_due_in_8_business_hours_on_the_cet_email_calendar(anna, sent, due, why):
    """Rule 1: "Emails will be answered within one working day or 8 business hours"."""
    ticket = mail_at(sent)
    sla = sla_at(ticket, sent + timedelta(minutes=1))
    assert (ticket.line.slug, sla.policy.slug, sla.calendar.slug) == (
        "reseller",
        "cet-email",
        "cet-email",
    )
    assert utc(sla.first_response_due) == utc(due)
    days = sla.explanation["targets"]["first_response"]["days"]
    if why:
        assert why in {d["why"] for d in days}


def test_reseller_follow_up_is_due_in_16_business_hours(anna, agent):
    """Rule 1: "Follow-ups on the same email ... within two working days, or 16 business
    hours": Tuesday 15:00 + 2 h Tue + 8 h Wed + 6 h Thu = Thursday 15:00."""
    ticket = mail_at(ams(2026, 11, 23, 10, 0))
    with time_machine.travel(ams(2026, 11, 23, 11, 0), tick=False):
        message_add(
            ticket=ticket,
            message=MessageIn(
                channel="email", direction="outbound", body_text="Hi", author_user=agent
            ),
        )
    mail_at(
        ams(2026, 11, 24, 15, 0),
        subject=f"Re: [{ticket.reference}] Transfer stuck",
        body="Still stuck.",
    )
    sla = sla_at(ticket, ams(2026, 11, 24, 15, 1))
    assert utc(sla.next_response_due) == utc(ams(2026, 11, 26, 15, 0))


def test_reseller_phone_keeps_its_calendar_with_the_friday_meetings(presets):
    """Rules 1 and 3: a call on Friday 2026-11-20 at 13:00 falls in the 10:30-13:30
    meeting, so its business hour runs 13:30-14:30."""
    ticket = ticket_open(
        subject="Call",
        department=Department.objects.get(slug="reseller-support"),
        message=MessageIn(channel="phone", body_text="urgent", occurred_at=ams(2026, 11, 20, 13)),
    ).ticket
    Ticket.objects.filter(pk=ticket.pk).update(created_at=ams(2026, 11, 20, 13, 0))
    sla = sla_at(Ticket.objects.get(pk=ticket.pk), ams(2026, 11, 20, 13, 1))
    assert (sla.policy.slug, sla.calendar.slug) == ("cet-phone", "cet-phone-chat")
    assert utc(sla.first_response_due) == utc(ams(2026, 11, 20, 14, 30))


# --- rule 2: abuse from any path ------------------------------------------------------------


def test_abuse_from_the_portal_gets_the_legal_teams_email_deadlines(signed_in_anna, presets):
    """Rule 2: before, portal and API abuse reports matched no policy: no deadline."""
    with time_machine.travel(ams(2026, 11, 23, 10, 0), tick=False):
        signed_in_anna.post(
            "/portal/tickets/new/",
            {
                "topic": "abuse",
                "subject": "Phishing on paypa1-login.example",
                "description": "Phishing page",
                "severity": "3",
            },
        )
    ticket = Ticket.objects.get()
    sla = sla_at(ticket, ams(2026, 11, 23, 10, 1))
    assert (ticket.department.slug, sla.policy.slug) == ("legal-abuse", "legal-abuse")
    # Monday 10:00 + 8 business hours: 7 h on Monday, 1 h on Tuesday from 09:00.
    assert utc(sla.first_response_due) == utc(ams(2026, 11, 24, 10, 0))


@pytest.fixture
def signed_in_anna(client, anna):
    from tests.portal.conftest import sign_in_link

    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    return client


# --- rule 6: S1 on working days and days off -------------------------------------------------


def s1_at(when: datetime) -> TicketSla:
    with time_machine.travel(when, tick=False):
        ticket = ticket_open(
            subject="Checkout down",
            department=Department.objects.get(slug="technical-support"),
            severity=1,
            message=MessageIn(channel="portal", body_text="HTTP 500"),
        ).ticket
    return sla_at(ticket, when + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("opened", "due", "clock"),
    [
        # A weekday night follows business hours: Tuesday 03:00 -> 09:00, not 06:00.
        (msk(2026, 11, 24, 3, 0), msk(2026, 11, 24, 9, 0), "business"),
        # Friday 22:00 is a working day's night: Monday 09:00.
        (msk(2026, 11, 20, 22, 0), msk(2026, 11, 23, 9, 0), "business"),
        # Saturday 23:00: 3 calendar hours, into Sunday.
        (msk(2026, 11, 21, 23, 0), msk(2026, 11, 22, 2, 0), "days_off"),
        # Sunday 23:30: 3 calendar hours (Monday 02:30) beat Monday 09:00.
        (msk(2026, 11, 22, 23, 30), msk(2026, 11, 23, 2, 30), "days_off"),
        # Unity Day (Wednesday 2026-11-04) is a day off all day.
        (msk(2026, 11, 4, 10, 0), msk(2026, 11, 4, 13, 0), "days_off"),
        # Monday 06:30 on a working day: business hours (09:00), never the 3 hours.
        (msk(2026, 11, 23, 6, 30), msk(2026, 11, 23, 9, 0), "business"),
    ],
)
def test_s1_takes_3_calendar_hours_only_on_days_off(presets, opened, due, clock):
    """Rule 6: "Within an hour during business hours, within 3 hours on weekends"."""
    sla = s1_at(opened)
    assert sla.policy.slug == "technical-support-s1"
    assert utc(sla.first_response_due) == utc(due)
    target = sla.explanation["targets"]["first_response"]
    assert target["clock"] == clock
    word = "day off" if clock == "days_off" else "working day"
    assert any(word in note for note in target["notes"])


def test_a_weekend_s1_shows_the_real_time_left_not_zero(presets, admin):
    """Rule 13: business time left on a Saturday is 0h 00m; the S1 clock runs anyway."""
    sla = s1_at(msk(2026, 11, 21, 10, 0))  # due 13:00 Saturday
    with time_machine.travel(msk(2026, 11, 21, 11, 0), tick=False):
        page = admin.get(f"/admin/tickets/ticket/{sla.ticket_id}/change/").content.decode()
    assert "2h 00m (calendar hours)" in page


# --- rule 7: technical follow-ups and shortened days ---------------------------------------


def test_technical_support_has_a_follow_up_target(presets, agent):
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        ticket = ticket_open(
            subject="Export",
            department=Department.objects.get(slug="technical-support"),
            message=MessageIn(channel="portal", body_text="fails"),
        ).ticket
    for when, direction in ((msk(2026, 11, 23, 9, 30), "outbound"), (msk(2026, 11, 23, 12), "")):
        with time_machine.travel(when, tick=False):
            message_add(
                ticket=ticket,
                message=MessageIn(
                    channel="portal" if not direction else "email",
                    direction=direction or "inbound",
                    body_text="x",
                    author_user=agent if direction else None,
                ),
            )
    sla = sla_at(ticket, msk(2026, 11, 23, 12, 1))
    assert sla.next_response_state == "running"
    assert utc(sla.next_response_due) == utc(msk(2026, 11, 23, 13, 0))


def test_the_technical_calendar_shortens_the_day_before_a_holiday(presets):
    """2026-04-30 (before May Day) closes at 16:00 on both Moscow calendars: 15:30 + 1 h
    = 30 min, then Monday 2026-05-04 08:00-08:30."""
    with time_machine.travel(msk(2026, 4, 30, 15, 30), tick=False):
        ticket = ticket_open(
            subject="Export",
            department=Department.objects.get(slug="technical-support"),
            message=MessageIn(channel="portal", body_text="fails"),
        ).ticket
    sla = sla_at(ticket, msk(2026, 4, 30, 15, 31))
    assert utc(sla.first_response_due) == utc(msk(2026, 5, 4, 8, 30))
    days = {d["date"]: d for d in sla.explanation["targets"]["first_response"]["days"]}
    assert days["2026-04-30"]["hours"] == "08:00-16:00"


# --- rule 13 and the explanation ------------------------------------------------------------


def test_the_sla_panel_shows_moscow_time_under_the_moscow_header(presets, admin):
    """Before, the panel printed UTC (06:00) under "Due (Europe/Moscow)" for 09:00."""
    sla = s1_at(msk(2026, 11, 24, 3, 0))  # due Tuesday 09:00 Moscow
    page = admin.get(f"/admin/tickets/ticket/{sla.ticket_id}/change/").content.decode()
    assert "Due (Europe/Moscow)" in page
    assert "Tue 2026-11-24 09:00" in page and "Tue 2026-11-24 06:00" not in page


def test_escalations_show_department_names(presets, admin):
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        ticket = ticket_open(
            subject="Export",
            department=Department.objects.get(slug="customer-support"),
            message=MessageIn(channel="portal", body_text="fails"),
        ).ticket
        ticket_department_set(
            ticket=ticket, department=Department.objects.get(slug="technical-support")
        )
    sla_at(ticket, timezone.now())
    page = admin.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "Customer support → Technical support" in page
    assert "#" + str(ticket.department_id) not in page.split("Escalations")[1][:200]


def test_every_deadline_names_line_policy_clock_days_and_hours(anna):
    """Done-when: the explanation names the line, the policy, the clock, the days and hours."""
    ticket = mail_at(ams(2026, 4, 24, 16, 0))  # Friday before King's Day weekend
    sla = sla_at(ticket, ams(2026, 4, 24, 16, 1))
    summary = sla.explanation["targets"]["first_response"]["summary"]
    assert summary.startswith("First response: 8 business hours on line Domain reseller under")
    assert "“Reseller support (CET): 8 business hours, follow-ups 16”" in summary
    assert "clock: business hours of CET email (Europe/Amsterdam)" in summary
    assert "Fri 2026-04-24 09:00-17:00" in summary and "Tue 2026-04-28 09:00-17:00" in summary
    assert "Mon 2026-04-27 (King's Day)" in summary
    assert "due Tue 2026-04-28 16:00 Europe/Amsterdam" in summary


def test_abuse_from_the_api_gets_the_legal_teams_email_deadlines(presets):
    """Rule 2, the API path: the same policy and deadline as the legal team's email."""
    from rest_framework.test import APIClient

    from api.models import Integration

    integration = Integration.objects.create(name="crm", can_open_tickets=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
    with time_machine.travel(ams(2026, 11, 23, 10, 0), tick=False):
        response = client.post(
            "/api/v1/tickets/",
            {"topic": "abuse", "subject": "Phishing", "description": "A phishing page",
             "from_email": "reports@antiphishing.example"},
            format="json",
        )  # fmt: skip
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    sla = sla_at(ticket, ams(2026, 11, 23, 10, 1))
    assert (ticket.origin_channel, sla.policy.slug) == ("api", "legal-abuse")
    assert utc(sla.first_response_due) == utc(ams(2026, 11, 24, 10, 0))
