"""Rule 15: ``GET /api/v1/tickets/{number}/`` gives the ticket's support line and, for each
SLA target, the due time (ISO 8601 with offset), the state, the policy and the
explanation."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from sla.services import ticket_sla_recompute
from tests.factories import open_ticket
from tests.sla.conftest import ams, msk

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets/"


def test_detail_has_the_line_and_each_targets_due_state_policy_and_explanation(
    api, presets, departments
):
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        ticket = open_ticket(department=departments["technical-support"], channel="portal")
    ticket_sla_recompute(ticket.pk, now=msk(2026, 11, 23, 9, 1))
    with time_machine.travel(msk(2026, 11, 23, 9, 30), tick=False):
        body = api.get(f"{URL}{ticket.reference}/").json()
    assert body["line"] == {
        "slug": "ecommerce",
        "name": "E-commerce platform",
        "organisation": "E-commerce platform vendor",
    }
    sla = body["sla"]
    assert sla["policy"].startswith("Technical support: 1 business hour")
    assert sla["time_zone"] == "Europe/Moscow"
    first = next(t for t in sla["targets"] if t["target"] == "first_response")
    assert first["due"] == "2026-11-23T10:00:00+03:00"
    assert datetime.fromisoformat(first["due"]).utcoffset().total_seconds() == 3 * 3600
    assert first["state"] == "on track" and first["policy"] == sla["policy"]
    assert "on line E-commerce platform" in first["explanation"]
    resolution = next(t for t in sla["targets"] if t["target"] == "resolution")
    assert resolution["due"] == "2026-11-30T09:00:00+03:00"  # 5 working days


def test_a_reseller_ticket_shows_the_cet_offset_and_a_ticket_without_clocks_null(
    api, presets, departments
):
    with time_machine.travel(ams(2026, 7, 6, 10, 0), tick=False):
        ticket = open_ticket(department=departments["reseller-support"])
    assert api.get(f"{URL}{ticket.reference}/").json()["sla"] is None  # not computed yet
    ticket_sla_recompute(ticket.pk, now=ams(2026, 7, 6, 10, 1))
    body = api.get(f"{URL}{ticket.reference}/").json()
    assert body["line"]["slug"] == "reseller"
    first = next(t for t in body["sla"]["targets"] if t["target"] == "first_response")
    assert first["due"] == "2026-07-07T10:00:00+02:00"  # 7 h Monday + 1 h Tuesday, CEST
