"""Real pass: a worker process computes deadlines after a ticket opens; the scan breaches it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from channels_app.inbound import inbound_store, inbound_store_many
from channels_app.models import InboundRecord, InboundStatus
from duplicates.models import TicketSignature
from outbox.models import MailStatus, OutgoingMail
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

    # Beat's scan with the clock moved past the deadline (no sleeping).
    result = scan_deadlines(now=sla.first_response_due + timedelta(minutes=1))
    assert (ticket.pk, "first_response") in result.breached
    assert SlaAlert.objects.filter(ticket=ticket, kind="breached").count() == 1
    assert TicketSla.objects.get(pk=ticket.pk).first_response_breached
    assert scan_deadlines(now=sla.first_response_due + timedelta(minutes=2)).breached == []


def test_deadlines_are_stored_while_a_stream_keeps_ingest_busy(worker, presets, settings):
    """Issue 16: under a steady stream the deadlines of each new ticket are there as soon
    as the ticket is. 300 mails queued as 60 ingest tasks keep the main queue busy; at
    every look, while mails still wait, no ticket the worker opened lacks its deadline
    (one statement: a ticket and its deadlines commit together). Before, the recompute
    sat on the follow-up queue, read only once the main queue was empty."""
    settings.SUPPORTDESK_INBOUND_BATCH = 5  # 60 tasks on the main queue
    raws = [
        make_mail(subject=f"Stream {n}", sender=f"s{n}@example.org", message_id=f"st{n}@x")
        for n in range(300)
    ]
    inbound_store_many(channel="email", source="stream", raws=raws)
    waiting = InboundRecord.objects.filter(source="stream", status=InboundStatus.RECEIVED)
    missing = Ticket.objects.filter(sla__first_response_due__isnull=True)
    looks_while_busy, give_up = 0, time.monotonic() + 300
    while waiting.exists():
        assert not missing.exists(), "a ticket without its deadline while mails still wait"
        looks_while_busy += Ticket.objects.exists()
        assert worker.proc.poll() is None and time.monotonic() < give_up, worker.output
        time.sleep(0.05)
    assert looks_while_busy > 0  # the stream was still going when tickets were there
    assert Ticket.objects.count() == 300 and not missing.exists()
    # Let the worker finish the stream's follow-ups (acknowledgements, detection: the last
    # queue it reads), so the next test's worker does not start behind them.
    wait_until(
        lambda: (
            TicketSignature.objects.count() == 300
            and not OutgoingMail.objects.filter(status=MailStatus.PENDING).exists()
        ),
        300,
        "the worker to finish the stream's follow-ups",
        worker,
    )
