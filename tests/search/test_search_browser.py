"""An agent finds tickets from the workspace's one box, in Debian's chromium: by a phrase
from a customer's reply, by a reseller ID, and by a phone number written another way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import chromium_page
from tests.factories import AgentFactory, ContactFactory, open_ticket
from tests.workspace.conftest import grant_ticket_permissions

from .conftest import reply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "agent-password-123"


def _shot(page, name: str) -> None:
    if shots := os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_an_agent_finds_tickets_by_phrase_reseller_id_and_phone(live_server, departments, anna):
    agent = AgentFactory(username="alice", first_name="Alice")
    grant_ticket_permissions(agent)
    by_reply = open_ticket(subject="Website slow", body="It is slow.", contact=anna)
    reply(by_reply, "Since Tuesday the checkout page hangs after the payment step.")
    caller = ContactFactory(name="Ivan", email="ivan@roga.example", phone="+74951234567")
    by_phone = open_ticket(subject="Call me back", body="Please call.", contact=caller)
    other = open_ticket(subject="Unrelated", body="Nothing in common.")

    with chromium_page() as page:
        page.goto(f"{live_server.url}/admin/login/?next=/desk/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/desk/views/mine/")

        def search(text: str) -> None:
            page.keyboard.press("Escape")
            box = page.locator("#goto-q")
            box.fill(text)
            box.press("Enter")
            page.wait_for_selector("#search-results")

        search("checkout page hangs")
        hits = page.locator("#search-results .search-hit")
        expect(hits).to_have_count(1)
        expect(hits.first).to_contain_text(by_reply.reference)
        expect(hits.first.locator("mark").first).to_have_text("checkout")

        search("200417")  # Northwind's reseller ID, all digits
        expect(page.locator(f'.search-hit[data-ticket="{by_reply.number}"]')).to_have_count(1)
        expect(page.locator(f'.search-hit[data-ticket="{other.number}"]')).to_have_count(0)

        _shot(page, "search-reseller")
        search("8 (495) 123-45-67")
        expect(page.locator("#search-results .search-hit")).to_have_count(1)
        expect(page.locator("#search-results .search-hit").first).to_contain_text(
            by_phone.reference
        )
        page.click(f"text={by_phone.reference}")
        page.wait_for_url(f"**/desk/t/{by_phone.number}/**")
