"""Rule 4 in the agents' workspace: severity 1 only in technical support, as the services
enforce it everywhere (the side panel and bulk actions call them)."""

from __future__ import annotations

import pytest

from tests.factories import open_ticket
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_side_panel_refuses_s1_outside_technical_support(desk, departments, anna):
    ticket = open_ticket(subject="Checkout down", contact=anna)
    page = desk.post(
        f"/desk/t/{ticket.number}/update/",
        {"version": services.ticket_version(ticket.pk), "severity": "1"},
        follow=True,
    ).content.decode()
    assert "technical" in page
    assert Ticket.objects.get(pk=ticket.pk).severity == 3
    tech = open_ticket(
        subject="Checkout down", contact=anna, department=departments["technical-support"]
    )
    desk.post(
        f"/desk/t/{tech.number}/update/",
        {"version": services.ticket_version(tech.pk), "severity": "1"},
    )
    assert Ticket.objects.get(pk=tech.pk).severity == 1
