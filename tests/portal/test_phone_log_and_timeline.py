"""The admin's call log, and one timeline across chat, phone, portal and email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from api.models import Integration
from channels_app.inbound import inbound_process, inbound_store
from tests.factories import AgentFactory, ContactFactory, open_ticket
from tickets.models import Channel, Ticket
from tickets.selectors import ticket_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(boss) -> Client:
    # Its own client: tests here use the default ``client`` for the customer's portal.
    client = Client()
    client.force_login(boss)
    return client


def test_phone_log_proposes_the_callers_open_tickets_and_appends(admin_client, departments):
    caller = ContactFactory(name="Carla", phone="+31104482299", verified=True)
    open_one = open_ticket(subject="Urgent outage", contact=caller)
    solved = open_ticket(subject="Old question", contact=caller)
    solved.status = "closed"
    solved.save()
    page = admin_client.get("/admin/portal/chatconversation/phone-log/?caller=010-4482299")
    text = page.content.decode()
    assert "Carla" in text and open_one.reference in text and solved.reference not in text

    response = admin_client.post(
        "/admin/portal/chatconversation/phone-log/",
        {
            "caller": "010 448 22 99",
            "direction": "inbound",
            "started_at": "2026-06-03 10:00",
            "duration_minutes": "4",
            "summary": "Site down since 9",
            "outcome": "escalated",
            "ticket": open_one.reference,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    call = open_one.messages.get(channel=Channel.PHONE)
    assert call.author_contact == caller and call.metadata["duration_seconds"] == 240
    assert call.metadata["logged_by"] == "boss" and "Site down since 9" in call.body_text


def test_phone_log_opens_a_new_ticket_and_rejects_bad_numbers(admin_client, departments):
    bad = admin_client.post(
        "/admin/portal/chatconversation/phone-log/",
        {
            "caller": "banana",
            "direction": "inbound",
            "started_at": "2026-06-03 10:00",
            "duration_minutes": "1",
            "summary": "x",
            "outcome": "info",
        },
    )
    assert bad.status_code == 200 and Ticket.objects.count() == 0
    admin_client.post(
        "/admin/portal/chatconversation/phone-log/",
        {
            "caller": "+44 20 7946 0958",
            "direction": "outbound",
            "started_at": "2026-06-03 10:00",
            "duration_minutes": "1",
            "summary": "Called back",
            "outcome": "solved",
            "subject": "Callback",
        },
    )
    ticket = Ticket.objects.get()
    assert ticket.subject == "Callback" and ticket.origin_channel == Channel.PHONE
    assert ticket.messages.get().author_user.username == "boss"


def test_one_contact_four_channels_one_timeline_in_occurred_at_order(
    admin_client, departments, anna
):
    """A portal submission, an email, a chat line and a call from Anna, in one timeline."""
    from tickets.models import ContactPhone

    ContactPhone.objects.create(contact=anna, number="+31201234567")
    base = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)
    ticket = open_ticket(
        subject="Transfer stuck",
        contact=anna,
        channel=Channel.PORTAL,
        body="portal first",
        occurred_at=base,
    )
    # The email arrives later but happened before the call.
    api = APIClient()
    integration = Integration.objects.create(name="crm", can_push_chat=True, can_push_phone=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
    api.post(
        "/api/v1/channels/phone/?sync=1",
        {
            "call_id": "call-1",
            "caller": "020 123 4567",
            "summary": "phone third",
            "started_at": (base + timedelta(minutes=30)).isoformat(),
            "ticket": ticket.reference,
        },
        format="json",
    )
    record, _ = inbound_store(
        channel=Channel.API,
        source="test",
        payload={
            "subject": "x",
            "body": "api/email second",
            "from_email": "anna@northwind.example",
            "ticket": ticket.reference,
            "occurred_at": (base + timedelta(minutes=10)).isoformat(),
            "external_id": "mail-1",
        },
    )
    inbound_process(record.pk)
    from tickets import services
    from tickets.services import MessageIn

    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.EMAIL,
            body_text="email fourth",
            author_contact=anna,
            occurred_at=base + timedelta(minutes=40),
            external_id="<m1@example>",
        ),
    )
    api.post(
        "/api/v1/channels/chat/?sync=1",
        {
            "id": "l1",
            "conversation_id": "c1",
            "text": "chat fifth (own ticket)",
            "from_email": "anna@northwind.example",
            "occurred_at": (base + timedelta(minutes=50)).isoformat(),
        },
        format="json",
    )
    chat_ticket = Ticket.objects.get(origin_channel=Channel.CHAT)
    services.ticket_merge(source=chat_ticket, target=ticket)

    timeline = ticket_timeline(ticket)
    assert [m.channel for m in timeline] == ["portal", "api", "phone", "email", "chat"]
    assert all(m.author_contact == anna for m in timeline)
    page = admin_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    positions = [
        page.index(text)
        for text in (
            "portal first",
            "api/email second",
            "phone third",
            "email fourth",
            "chat fifth",
        )
    ]
    assert positions == sorted(positions)


def test_agent_without_ticket_permission_cannot_log_calls_or_answer_chats(departments):
    client = Client()
    client.force_login(AgentFactory(username="intern"))  # staff, no permissions
    assert client.get("/admin/portal/chatconversation/phone-log/").status_code == 403
    assert client.get("/admin/portal/chatconversation/live/").status_code == 403


def test_calls_cannot_open_tickets_in_a_department_without_phone(admin_client, departments):
    record, _ = inbound_store(
        channel=Channel.PHONE,
        source="test",
        payload={"caller": "+31201234567", "summary": "abuse", "department": "legal-abuse"},
        external_id="c-legal",
    )
    assert "takes no calls" in inbound_process(record.pk).error
