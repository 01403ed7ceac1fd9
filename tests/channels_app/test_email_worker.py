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
    worker.wait_for_task_success("process_inbound_records")


def test_imported_folder_is_processed_in_batches_by_the_worker(worker, tmp_path, settings):
    """``ingest_email DIR`` stores the mails in chunks and the worker processes each chunk
    as one batch: a reply imported beside its parent threads, list mail is ignored."""
    from django.core.management import call_command

    from .mail_helpers import fixture

    settings.SUPPORTDESK_INBOUND_BATCH = 10
    mails = [make_mail(subject=f"Import {n}", sender=f"c{n}@example.org") for n in range(20)]
    mails[5] = make_mail(subject="Parent", message_id="parent@example.org")
    mails[6] = make_mail(
        subject="Re: Parent", headers={"In-Reply-To": "<parent@example.org>"}, body="More"
    )
    mails[15] = fixture("list_mail.eml")
    for number, raw in enumerate(mails):
        (tmp_path / f"{number:03d}.eml").write_bytes(raw)
    call_command("ingest_email", str(tmp_path))

    def done() -> bool:
        return not InboundRecord.objects.filter(status=InboundStatus.RECEIVED).exists()

    wait_until(done, 60, "the worker to process the imported mails", worker)
    statuses = sorted(InboundRecord.objects.values_list("status", flat=True))
    assert statuses == [InboundStatus.IGNORED] + [InboundStatus.PROCESSED] * 19
    parent = Ticket.objects.get(subject="Parent")
    assert parent.messages.count() == 2
    assert Ticket.objects.count() == 18
    worker.wait_for_task_success("process_inbound_records")
