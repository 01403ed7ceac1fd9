"""A support day in the workspace, in Debian's chromium (Playwright): the Done-when list
of issue 13. The ORM is used only before and after each browser block (Playwright runs
an event loop in this thread); what happens meanwhile goes through the pages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from channels_app.chat.conversations import chat_line_from_customer
from channels_app.chat.models import ChatConversation
from tests.browser import chromium_page
from tests.factories import AgentFactory, ContactFactory, open_ticket
from tests.outbox_helpers import deliver_from_another_thread
from tickets import services
from tickets.models import Channel, Direction, Message, Ticket
from tickets.services import MessageIn
from workspace.models import Macro

from .conftest import grant_ticket_permissions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "agent-password-123"


@pytest.fixture
def alice(db):
    user = AgentFactory(
        username="alice", first_name="Alice", last_name="Agent", email="alice@desk.example"
    )
    grant_ticket_permissions(user)
    return user


@pytest.fixture
def bob(db):
    user = AgentFactory(
        username="bob", first_name="Bob", last_name="Agent", email="bob@desk.example"
    )
    grant_ticket_permissions(user)
    return user


def _shot(page, name: str) -> None:
    if shots := os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        page.screenshot(path=str(Path(shots) / f"desk-{name}.png"), full_page=True)


def _agent_login(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next=/desk/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/desk/views/mine/")


def _customer_login(page, base: str, email: str) -> None:
    page.goto(f"{base}/portal/sign-in/")
    page.fill("#id_email", email)
    page.click("text=Send me a sign-in link")
    page.wait_for_selector("#sign-in-sent")
    link = re.search(
        r"https?://\S+/portal/sign-in/\S+/", deliver_from_another_thread()[-1].body
    ).group(0)
    page.goto(link)
    page.click("#confirm-sign-in")
    page.wait_for_selector("#tickets")


def _new_page(page):
    """A second, separate browser session (another agent, or the customer)."""
    return page.context.browser.new_context().new_page()


def test_two_agents_see_each_other_and_the_stale_reply_is_refused(
    live_server, departments, anna, alice, bob
):
    ticket = open_ticket(
        subject="Transfer stuck",
        contact=anna,
        external_id="t1@mail",
        metadata={"from": "anna@northwind.example"},
    )
    url = f"{live_server.url}/desk/t/{ticket.number}/"
    with chromium_page() as page_a:
        page_b = _new_page(page_a)
        _agent_login(page_a, live_server.url, "alice")
        _agent_login(page_b, live_server.url, "bob")
        page_a.goto(url)
        page_b.goto(url)
        page_a.wait_for_selector("#presence >> text=Bob Agent is viewing")
        page_b.wait_for_selector("#presence >> text=Alice Agent is viewing")
        page_b.fill("#reply-form textarea", "")
        page_b.type("#reply-form textarea", "still investigating", delay=30)
        page_a.wait_for_selector("#presence >> text=Bob Agent is typing a reply")
        _shot(page_a, "collision-seen")
        # Alice solves the ticket; Bob's page learns of it, and his reply is refused.
        page_a.select_option("#f-status", "solved")
        page_a.click("#save-fields")
        page_a.wait_for_selector("text=Saved: status.")
        page_b.wait_for_selector("#news >> text=Alice Agent set the status to Solved")
        page_b.click("#send-reply")
        page_b.wait_for_selector("#stale-news")
        refused = page_b.inner_text("#stale-news")
        kept = page_b.input_value("#reply-form textarea")
        _shot(page_b, "collision-refused")
    assert "Alice Agent set the status to Solved" in refused
    assert kept == "still investigating"
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()
    # No reply went out (solving sends the satisfaction survey, nothing else).
    assert not [m for m in deliver_from_another_thread() if "still investigating" in m.body]
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"


def test_email_answer_with_a_macro_and_an_attachment_sets_the_status(
    live_server, departments, anna, alice, tmp_path
):
    Macro.objects.create(
        name="Need the auth code",
        body="Hello {customer_name},\n\nfor {ticket_number} we need the auth code.",
        set_status="pending_customer",
        add_tags="transfer",
    )
    ticket = open_ticket(
        subject="Transfer",
        contact=anna,
        external_id="t2@mail",
        metadata={"from": "anna@northwind.example"},
    )
    attachment = tmp_path / "steps.txt"
    attachment.write_text("1. unlock\n2. get the code\n")
    with chromium_page() as page:
        _agent_login(page, live_server.url, "alice")
        page.goto(f"{live_server.url}/desk/t/{ticket.number}/")
        page.select_option("#macro-pick", label="Need the auth code")
        expect(page.locator("#reply-form textarea")).to_have_value(re.compile("Hello Anna"))
        page.check("input[name=channel][value=email]")
        page.set_input_files("#reply-form input[type=file]", str(attachment))
        page.fill("#reply-form input[name=cc]", "pieter@northwind.example")
        page.click("#send-reply")
        page.wait_for_selector("text=Answer sent by email.")
        page_text = page.inner_text("#conversation")
        _shot(page, "macro-sent")
    sent = deliver_from_another_thread()[-1]
    assert sent.to == ["anna@northwind.example"] and sent.cc == ["pieter@northwind.example"]
    assert f"for {ticket.reference} we need the auth code" in sent.body
    assert [a[0] for a in sent.attachments] == ["steps.txt"]
    ticket.refresh_from_db()
    assert ticket.status == "pending_customer"
    assert list(ticket.tags.values_list("name", flat=True)) == ["transfer"]
    assert "steps.txt" in page_text


def test_portal_ticket_answered_in_the_portal_and_chat_in_the_chat(
    live_server, departments, anna, alice
):
    portal_ticket = open_ticket(
        subject="VAT settings", contact=anna, channel="portal", body="Where do I set VAT?"
    )
    chat_message = chat_line_from_customer(
        conversation_id="portal-c1",
        contact=anna,
        text="hi, are you there?",
        email="anna@northwind.example",
    )
    chat_ticket = chat_message.ticket
    with chromium_page() as agent:
        customer = _new_page(agent)
        _customer_login(customer, live_server.url, "anna@northwind.example")
        _agent_login(agent, live_server.url, "alice")
        agent.goto(f"{live_server.url}/desk/t/{portal_ticket.number}/")
        assert agent.is_checked("input[name=channel][value=portal]")  # the customer's channel
        agent.fill("#reply-form textarea", "Settings → Taxes → EU VAT.")
        agent.click("#send-reply")
        agent.wait_for_selector("text=Answer sent in the portal.")
        customer.goto(f"{live_server.url}/portal/tickets/{portal_ticket.number}/")
        portal_view = customer.inner_text("#timeline")
        customer.goto(f"{live_server.url}/portal/chat/portal-c1/")
        agent.goto(f"{live_server.url}/desk/t/{chat_ticket.number}/")
        assert agent.is_checked("input[name=channel][value=chat]")
        agent.fill("#reply-form textarea", "Yes, here. How can I help?")
        agent.click("#send-reply")
        agent.wait_for_selector("text=Answer sent in the chat.")
        customer.wait_for_selector("#chat-lines >> text=Yes, here. How can I help?")
    assert "Settings → Taxes → EU VAT." in portal_view
    assert (
        portal_ticket.messages.filter(channel=Channel.PORTAL, direction=Direction.OUTBOUND).count()
        == 1
    )
    assert (
        chat_ticket.messages.filter(channel=Channel.CHAT, direction=Direction.OUTBOUND).count() == 1
    )
    assert ChatConversation.objects.get().ticket_id == chat_ticket.pk


def test_bulk_assign_twenty_tickets(live_server, departments, alice, bob):
    tickets = [open_ticket(subject=f"Printer {n}") for n in range(20)]
    with chromium_page() as page:
        _agent_login(page, live_server.url, "alice")
        page.goto(f"{live_server.url}/desk/views/unassigned/")
        page.check("#select-all")
        page.select_option("#bulk-action", "assign")
        page.select_option("#bulk-value", label="Bob Agent")
        page.click("#bulk-apply")
        page.wait_for_selector("text=20 tickets updated.")
        left = page.locator("#rows tr[data-ticket]").count()
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets], assignee=bob).count() == 20
    assert left == 0


def test_merge_two_tickets_then_split_a_message_off(live_server, departments, anna, alice):
    first = open_ticket(subject="Site down", contact=anna, body="my site is down")
    second = open_ticket(
        subject="Site down again", contact=anna, body="still down", channel="portal"
    )
    services.message_add(
        ticket=second,
        message=MessageIn(
            channel=Channel.PORTAL, body_text="also: invoice 77 is wrong", author_contact=anna
        ),
    )
    invoice = Message.objects.get(body_text="also: invoice 77 is wrong")
    with chromium_page() as page:
        _agent_login(page, live_server.url, "alice")
        page.goto(f"{live_server.url}/desk/t/{second.number}/")
        page.fill("#merge-other", first.reference)
        page.click("#merge-start")
        page.click("#confirm-merge")
        page.wait_for_selector(f"text={second.reference} is merged into {first.reference}.")
        merged_view = page.inner_text("#conversation")
        entry = page.locator(f"#message-{invoice.pk}")
        entry.locator("summary").click()
        entry.locator("input[name=subject]").fill("Invoice 77")
        entry.locator("button[type=submit]").click()
        page.wait_for_selector("text=Invoice 77")
        split_url = page.url
        _shot(page, "split")
    split = Ticket.objects.get(subject="Invoice 77")
    assert "my site is down" in merged_view and "still down" in merged_view
    assert Ticket.objects.get(pk=second.pk).merged_into_id == first.pk
    assert split_url.endswith(f"/desk/t/{split.number}/")
    assert split.linked_to_id == first.pk
    assert list(split.messages.values_list("body_text", flat=True)) == [invoice.body_text]


def test_agent_is_notified_of_a_customer_reply(live_server, departments, anna, alice):
    ticket = open_ticket(subject="Waiting for Anna", contact=anna, channel="portal")
    services.ticket_assign(ticket=ticket, assignee=alice)
    with chromium_page() as agent:
        customer = _new_page(agent)
        _agent_login(agent, live_server.url, "alice")
        agent.goto(f"{live_server.url}/desk/views/mine/")
        _customer_login(customer, live_server.url, "anna@northwind.example")
        customer.goto(f"{live_server.url}/portal/tickets/{ticket.number}/")
        customer.fill("#id_body", "Here is the information you asked for.")
        customer.click("#reply-form button")
        customer.wait_for_selector("text=Your reply was added.")
        # The assignment was the first (unread) notification; the reply is the second.
        agent.wait_for_selector("#notif-count:text('2')", timeout=25000)
        announced = agent.evaluate("document.body.dataset.lastNotification")
        agent.click("#notif-link")
        listed = agent.inner_text("#notifications")
    assert "Customer replied" in announced and ticket.reference in announced
    assert ticket.reference in listed


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_lists_and_ticket_page_fit_the_screen(live_server, departments, alice, width, height):
    for n in range(12):
        contact = ContactFactory(name=f"Customer with a rather long name {n}")
        open_ticket(
            subject=f"A long subject about a domain transfer that keeps failing, case {n}",
            contact=contact,
        )
    ticket = Ticket.objects.order_by("number").first()
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        _agent_login(page, live_server.url, "alice")
        page.goto(f"{live_server.url}/desk/views/unassigned/")
        table = page.evaluate(
            "() => { const w = document.querySelector('#table-wrap');"
            " const t = document.querySelector('#ticket-table');"
            " return [t.scrollWidth, w.clientWidth, document.documentElement.scrollWidth,"
            " window.innerWidth]; }"
        )
        _shot(page, f"list-{width}")
        page.goto(f"{live_server.url}/desk/t/{ticket.number}/")
        ticket_page = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        _shot(page, f"ticket-{width}")
    table_width, wrap_width, page_width, viewport = table
    assert table_width <= wrap_width  # no column cut off or scrolled away
    assert page_width <= viewport
    assert ticket_page[0] <= ticket_page[1]


def test_a_day_with_the_keyboard_only(live_server, departments, anna, alice):
    """j/k walk the list, o opens, r goes to the answer box; the header's box searches."""
    first = open_ticket(subject="Keyboard first", contact=anna)
    second = open_ticket(subject="Keyboard second", contact=anna, body="Invoice 9911 is wrong.")
    with chromium_page() as page:
        _agent_login(page, live_server.url, "alice")
        page.goto(f"{live_server.url}/desk/views/unassigned/")
        page.locator("body").press("j")
        page.keyboard.press("j")
        page.keyboard.press("k")
        page.keyboard.press("j")
        expect(page.locator("#rows tr.kb-current")).to_have_attribute(
            "data-ticket", str(second.number)
        )
        page.keyboard.press("o")
        page.wait_for_url(f"**/desk/t/{second.number}/")
        page.keyboard.press("r")
        expect(page.locator("#reply-form textarea")).to_be_focused()
        page.keyboard.type("Thanks, correcting it.")
        expect(page.locator("#reply-form textarea")).to_have_value("Thanks, correcting it.")
        page.keyboard.press("Escape")
        page.focus("#goto-q")
        page.keyboard.type("invoice 9911")
        page.keyboard.press("Enter")
        page.wait_for_selector("#search-results")  # the search app's one box
        hits = page.locator("#search-results a.ref").all_inner_texts()
    assert hits == [second.reference] and first.reference not in hits
