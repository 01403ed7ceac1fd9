"""A new customer uses the portal in Debian's chromium: sign in, KB, ticket, reply, chat."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import time_machine

from channels_app.chat.models import ChatConversation
from kb.models import Article
from portal.presence import presence_set
from tests.browser import chromium_page
from tests.factories import AgentFactory
from tests.outbox_helpers import deliver as outbox_deliver
from tests.outbox_helpers import deliver_from_another_thread
from tickets.models import Channel, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WEDNESDAY_NOON = "2026-06-03 10:00Z"  # 12:00 in Amsterdam: chat hours
SATURDAY = "2026-06-06 10:00Z"


def _shot(page, name: str) -> None:
    if shots := os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        page.screenshot(path=str(Path(shots) / f"portal-{name}.png"), full_page=True)


def _sign_in(page, base: str) -> None:
    page.goto(f"{base}/portal/sign-in/")
    page.fill("#id_email", "anna@northwind.example")
    page.click("text=Send me a sign-in link")
    page.wait_for_selector("#sign-in-sent")
    sent = deliver_from_another_thread()
    link = re.search(r"https?://\S+/portal/sign-in/\S+/", sent[-1].body).group(0)
    page.goto(link)
    page.click("#confirm-sign-in")
    page.wait_for_selector("#tickets")


def test_customer_signs_in_submits_with_attachment_and_replies(
    live_server, departments, anna, tmp_path
):
    Article.objects.create(
        title="How to transfer a domain",
        slug="transfer",
        body="Unlock it first.",
        keywords="transfer authcode",
        published=True,
        helpful_yes=11,
        helpful_no=11,
    )
    screenshot = tmp_path / "error.png"
    screenshot.write_bytes(b"\x89PNG fake screenshot")

    with chromium_page() as page:
        _sign_in(page, live_server.url)
        page.click("text=New ticket")
        page.fill("#id_subject", "")
        page.type("#id_subject", "domain transfer fails", delay=20)
        page.wait_for_selector("#kb-suggestions >> text=How to transfer a domain")
        suggestion = page.inner_text("#kb-suggestions")
        _shot(page, "suggestion")
        page.select_option("#id_topic", "technical")
        page.fill("#id_description", "Transfer of example.nl ends with error 500")
        page.fill("#id_details", "example.nl, order 4711")
        page.set_input_files("#id_attachments", str(screenshot))
        page.click("#submit-ticket")
        reference = page.inner_text("#ticket-reference")
        page.click("text=My tickets")
        listed = page.inner_text("#tickets")
        page.click(f"text={reference}")
        page.fill("#id_body", "It also fails for example.com")
        page.click("#reply-form button")
        page.wait_for_selector("text=Your reply was added.")
        timeline = page.inner_text("#timeline")
        _shot(page, "detail")

    assert "11 out of 22 found this helpful" in suggestion
    assert reference in listed
    ticket = Ticket.objects.get()
    assert ticket.reference == reference and ticket.contact == anna
    assert "error.png" in timeline and "It also fails for example.com" in timeline
    assert ticket.messages.first().attachments.get().filename == "error.png"
    assert ticket.messages.filter(channel=Channel.PORTAL).count() == 2
    assert any(reference in m.subject for m in outbox_deliver())


def test_chat_is_offered_when_open_and_staffed_and_falls_back_to_the_form(
    live_server, departments, anna, chat_calendar
):
    agent = AgentFactory(username="alice")
    Article.objects.create(
        title="DNS zone not resolving",
        slug="dns",
        body="Check NS.",
        keywords="dns servfail",
        published=True,
    )
    with time_machine.travel(WEDNESDAY_NOON):
        presence_set(user=agent, available=True)
        with chromium_page() as page:
            _sign_in(page, live_server.url)
            cookies = page.context.cookies()
            page.goto(f"{live_server.url}/portal/")
            badge = page.inner_text("#chat-status")
            page.click("text=Start a live chat")
            page.type("#id_text", "dns servfail on my zone", delay=10)
            page.wait_for_selector("#kb-suggestions >> text=DNS zone not resolving")
            page.click("#start-chat")
            page.wait_for_selector("#chat-lines >> text=dns servfail on my zone")
            page.fill("#chat-text", "are you there?")
            page.press("#chat-text", "Enter")
            page.wait_for_selector("#chat-lines >> text=are you there?")
            chat_url = page.url
            _shot(page, "chat")

    assert badge == "open now"
    conversation = ChatConversation.objects.get()
    assert conversation.ticket.messages.filter(channel=Channel.CHAT).count() == 2

    # An agent answers from the admin; the customer's page picks it up by polling.
    from channels_app.chat.conversations import chat_line_from_agent

    with time_machine.travel(WEDNESDAY_NOON):
        chat_line_from_agent(conversation=conversation, agent=agent, text="Yes, looking now")
        with chromium_page() as page:
            page.context.add_cookies(cookies)
            page.goto(chat_url)
            page.wait_for_selector("#chat-lines >> text=Yes, looking now")

        presence_set(user=agent, available=False)  # nobody online
        with chromium_page() as page:
            page.context.add_cookies(cookies)
            page.goto(f"{live_server.url}/portal/chat/")
            page.wait_for_selector("#ticket-form")
            no_agent_notice = page.inner_text(".messages")

    with time_machine.travel(SATURDAY):
        presence_set(user=agent, available=True)  # online, but outside chat hours
        with chromium_page() as page:
            page.context.add_cookies(cookies)
            page.goto(f"{live_server.url}/portal/")
            closed_badge = page.inner_text("#chat-status")
            page.goto(f"{live_server.url}/portal/chat/")
            page.wait_for_selector("#ticket-form")

    assert "not available right now" in no_agent_notice
    assert closed_badge == "closed now"
