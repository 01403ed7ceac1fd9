"""A task queued by the application is run by a separate Celery worker process."""

from __future__ import annotations

import os

import pytest

from channels_app.inbound import inbound_store
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Channel, Ticket

from .processes import start_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(departments):
    process = start_worker()
    yield process
    process.stop()


def test_stored_record_is_processed_by_the_worker_process(worker):
    record, created = inbound_store(
        channel=Channel.API,
        source="test",
        payload={
            "subject": "Round trip",
            "body": "queued by the app, run by the worker",
            "department": "technical-support",
            "external_id": f"rt-{os.getpid()}",
        },
    )
    assert created

    def processed() -> InboundRecord | None:
        current = InboundRecord.objects.get(pk=record.pk)
        return current if current.status != InboundStatus.RECEIVED else None

    done = wait_until(processed, 120, "the worker to process the record", worker)
    assert done.status == InboundStatus.PROCESSED, done.error
    ticket = Ticket.objects.get(messages__pk=done.message_id)
    assert ticket.subject == "Round trip"
    # The worker, not this process, did it: its log names the task (written after the
    # task's on-commit hooks, so it may trail the database row by a moment).
    wait_until(
        lambda: any(
            "channels_app.process_inbound_record" in line and "succeeded" in line
            for line in worker.lines
        ),
        30,
        "the worker to log the task",
        worker,
    )
