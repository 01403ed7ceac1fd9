"""A customer rates a solved ticket in the portal (Debian's chromium), and the lead sees
the rating in the report."""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium_page
from tests.factories import open_ticket
from tests.outbox_helpers import deliver_from_another_thread
from tests.reports.conftest import lead as lead  # a fixture of the reports tests
from tickets import services
from tickets.models import Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "agent-password-123"


def test_a_customer_rates_a_solved_ticket_and_the_report_shows_it(
    live_server, departments, anna, lead
):
    ticket = open_ticket(subject="Certificate renewal", body="Renew please", contact=anna)
    services.ticket_status_set(ticket=ticket, status=Status.SOLVED)

    with chromium_page() as page:
        page.goto(f"{live_server.url}/portal/sign-in/")
        page.fill("#id_email", "anna@northwind.example")
        page.click("text=Send me a sign-in link")
        page.wait_for_selector("#sign-in-sent")
        mails = deliver_from_another_thread()
        link = next(
            m.group(0)
            for mail in reversed(mails)
            if (m := re.search(r"https?://\S+/portal/sign-in/\S+/", mail.body))
        )
        page.goto(link)
        page.click("#confirm-sign-in")
        page.wait_for_selector("#tickets")
        page.goto(f"{live_server.url}/portal/tickets/{ticket.number}/")
        page.fill("#csat-prompt textarea", "Fast and friendly")
        page.click("#csat-prompt button[value='5']")
        page.wait_for_selector("#csat-given")

        lead_page = page.context.browser.new_context().new_page()
        lead_page.goto(f"{live_server.url}/admin/login/?next=/desk/reports/report/")
        lead_page.fill("#id_username", "lena")
        lead_page.fill("#id_password", PASSWORD)
        lead_page.click("input[type=submit]")
        lead_page.wait_for_url("**/desk/reports/report/")
        csat = lead_page.locator("#report-csat").inner_text()
        assert csat.startswith("1 ·")
        assert "100.0% satisfied" in csat
        lead_page.goto(f"{live_server.url}/desk/t/{ticket.number}/")
        assert "Customer rating: 5/5" in lead_page.content()
        assert "Fast and friendly" in lead_page.content()
