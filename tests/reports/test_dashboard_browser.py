"""A lead opens the dashboard in Debian's chromium and sees the charts drawn with the
seeded data (Chart.js served by the desk itself)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports.facts import facts_refresh
from tests.browser import chromium_page
from tests.factories import AgentFactory, open_ticket
from tickets import services
from tickets.models import Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "agent-password-123"


def _shot(page, name: str) -> None:
    if shots := os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_a_lead_sees_charts_of_the_seeded_data(live_server, departments, anna, lead):
    sam = AgentFactory(username="sam", first_name="Sam")
    for index, channel in enumerate(["email", "portal", "chat", "email", "phone"]):
        ticket = open_ticket(subject=f"Seeded {index}", body="x", contact=anna, channel=channel)
        services.ticket_assign(ticket=ticket, assignee=sam)
        if index % 2 == 0:
            services.ticket_status_set(ticket=ticket, status=Status.SOLVED, actor=sam)
    facts_refresh(list(Ticket.objects.values_list("pk", flat=True)))

    with chromium_page() as page:
        errors: list[str] = []  # script errors and failed requests (not the favicon)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
        page.goto(f"{live_server.url}/admin/login/?next=/desk/reports/")
        page.fill("#id_username", "lena")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/desk/reports/")
        page.wait_for_function("document.documentElement.dataset.chartsReady === '1'")
        drawn = page.evaluate(
            """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
                 const chart = Chart.getChart(c);
                 const total = chart ? chart.data.datasets.reduce((sum, d) =>
                     sum + d.data.reduce((a, b) => a + (b || 0), 0), 0) : null;
                 return [c.dataset.chart, total, c.width > 0 && c.height > 0];
               })"""
        )
        _shot(page, "dashboard")
        assert errors == []
        charts = {name: (total, visible) for name, total, visible in drawn}
        assert set(charts) == {
            "created", "solved", "backlog", "sla", "frt", "agents", "duplicates", "kb", "csat"
        }  # fmt: skip
        assert all(visible for _, visible in charts.values())
        assert charts["created"][0] == 5
        assert charts["solved"][0] == 3
        assert charts["backlog"][0] == 2
        assert charts["agents"][0] == 2 + 3  # Sam: two open now, three solved
