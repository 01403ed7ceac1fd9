"""A mail stored by the webhook is processed by a real Celery worker process."""

from __future__ import annotations

import pytest

from channels_app.models import InboundRecord, InboundStatus
from tests.processes import wait_until
from tickets.models import Ticket

from .mail_helpers import make_mail
from .test_email_webhooks import SECRET, SIGNING_KEY, mailgun

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_webhook_mail_becomes_a_ticket_in_the_worker(worker, client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    raw = make_mail(subject="Worker round trip", message_id="worker-rt@example.org")
    assert mailgun(client, raw).status_code == 200
    record = InboundRecord.objects.get()

    def done() -> InboundRecord | None:
        current = InboundRecord.objects.get(pk=record.pk)
        return current if current.status != InboundStatus.RECEIVED else None

    processed = wait_until(done, 60, "the worker to process the mail", worker)
    assert processed.status == InboundStatus.PROCESSED, processed.error
    ticket = Ticket.objects.get(messages__pk=processed.message_id)
    assert ticket.subject == "Worker round trip"
    worker.wait_for_task_success("process_inbound_record")
