"""An agent works a ticket in a real browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tickets import services
from tickets.models import Channel, Direction
from tickets.services import MessageIn

from .browser import chromium_page
from .factories import AgentFactory, open_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_reads_cross_channel_timeline_and_adds_note(live_server, departments, anna):
    AgentFactory(username="boss", is_superuser=True, password="boss-password-123")
    base = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    ticket = open_ticket(
        subject="Transfer stuck", contact=anna, body="first by email", occurred_at=base
    )
    for minutes, channel, body in (
        (5, Channel.CHAT, "then on chat"),
        (9, Channel.PHONE, "then a call"),
    ):
        services.message_add(
            ticket=ticket,
            message=MessageIn(
                channel=channel,
                direction=Direction.INBOUND,
                body_text=body,
                occurred_at=base + timedelta(minutes=minutes),
            ),
        )
    reference = ticket.reference

    with chromium_page() as page:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "boss-password-123")
        page.click("input[type=submit]")
        page.wait_for_url("**/desk/**")  # an agent's /admin/ lands in the workspace
        page.goto(f"{live_server.url}/admin/tickets/ticket/")
        page.click(f"text={reference}")
        page.wait_for_selector("#timeline")
        entries = page.locator(".sd-entry")
        channels = [entries.nth(i).get_attribute("data-channel") for i in range(entries.count())]

        page.fill("#note-form textarea", "Registry contacted")
        page.click("#note-form input[type=submit]")
        page.wait_for_selector("text=Note added.")
        note = page.locator(".sd-entry.internal").inner_text()
        if shots := os.environ.get("SUPPORTDESK_SCREENSHOTS"):
            page.screenshot(path=str(Path(shots) / "admin-ticket.png"), full_page=True)

    assert channels == ["email", "chat", "phone"]
    assert "Registry contacted" in note and "boss" in note
    assert ticket.messages.filter(channel=Channel.NOTE, body_text="Registry contacted").count() == 1
