"""Real pass: a worker process computes deadlines after a ticket opens; the scan breaches it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels_app.inbound import inbound_store
from sla.models import SlaAlert, TicketSla
from sla.scan import scan_deadlines
from tickets.models import Ticket

from ..channels_app.mail_helpers import SUPPORT, make_mail
from ..processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_computes_deadlines_and_beat_scan_raises_the_breach(worker, presets):
    # The mail enters through the email channel's raw-first ledger, exactly as a webhook
    # stores it; the worker turns it into a ticket, then computes the ticket's deadlines.
    inbound_store(
        channel="email",
        source="test",
        raw=make_mail(
            subject="Invoice missing",
            body="Where is my invoice?",
            message_id="sla-worker@test",
            to=SUPPORT,
        ),
    )
    ticket = wait_until(
        lambda: Ticket.objects.filter(messages__external_id="sla-worker@test").first(),
        120,
        "the worker to open the ticket from the mail",
        worker,
    )
    assert ticket.origin_channel == "email"

    sla = wait_until(
        lambda: TicketSla.objects.filter(pk=ticket.pk, first_response_due__isnull=False).first(),
        60,
        "the worker to compute the ticket's deadlines",
        worker,
    )
    assert sla.policy.slug == "customer-support"
    assert sla.first_response_state == "running"
    worker.wait_for_task_success("sla.recompute_tickets")

    # Beat's scan with the clock moved past the deadline (no sleeping).
    result = scan_deadlines(now=sla.first_response_due + timedelta(minutes=1))
    assert (ticket.pk, "first_response") in result.breached
    assert SlaAlert.objects.filter(ticket=ticket, kind="breached").count() == 1
    assert TicketSla.objects.get(pk=ticket.pk).first_response_breached
    assert scan_deadlines(now=sla.first_response_due + timedelta(minutes=2)).breached == []
