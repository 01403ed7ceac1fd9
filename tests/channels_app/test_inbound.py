"""The raw-first ledger: store, process, fail visibly, retry, never lose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.inbound import (
    inbound_process,
    inbound_requeue_stale,
    inbound_retry,
    inbound_store,
    inbound_store_many,
)
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Channel, Message, Ticket

pytestmark = pytest.mark.django_db


def api_entry(**extra) -> dict:
    return {
        "subject": "Zone not resolving",
        "body": "SERVFAIL for example.nl",
        "from_email": "anna@northwind.example",
        "department": "technical-support",
        **extra,
    }


def test_store_is_committed_before_processing_is_queued(
    departments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        record, created = inbound_store(channel=Channel.API, source="test", payload=api_entry())
    assert created and record.status == InboundStatus.RECEIVED
    assert len(callbacks) == 1  # processing is queued only once the row is committed
    assert Ticket.objects.count() == 0


def test_identical_arrival_is_stored_once(departments):
    first, created_first = inbound_store(
        channel=Channel.EMAIL, source="imap", raw=b"Subject: x\n\nbody"
    )
    again, created_again = inbound_store(
        channel=Channel.EMAIL, source="webhook", raw=b"Subject: x\n\nbody"
    )
    assert created_first and not created_again and first.pk == again.pk
    other, created_other = inbound_store(
        channel=Channel.EMAIL, source="imap", raw=b"Subject: y\n\nbody"
    )
    assert created_other and other.pk != first.pk


def test_processing_opens_ticket_and_links_message(departments, anna):
    record, _ = inbound_store(
        channel=Channel.API, source="test", payload=api_entry(external_id="evt-1")
    )
    processed = inbound_process(record.pk)
    assert processed.status == InboundStatus.PROCESSED and processed.attempts == 1
    message = Message.objects.get(pk=processed.message_id)
    assert message.ticket.contact == anna
    assert message.ticket.department.slug == "technical-support"
    assert message.external_id == "evt-1"


def test_processing_twice_changes_nothing(departments):
    record, _ = inbound_store(channel=Channel.API, source="test", payload=api_entry())
    inbound_process(record.pk)
    again = inbound_process(record.pk)
    assert again.attempts == 1
    assert Ticket.objects.count() == 1


def test_bad_record_fails_with_reason_and_can_be_retried(departments):
    record, _ = inbound_store(
        channel=Channel.API, source="test", payload=api_entry(department="no-such-team")
    )
    failed = inbound_process(record.pk)
    assert failed.status == InboundStatus.FAILED
    assert "no-such-team" in failed.error
    assert Ticket.objects.count() == 0  # nothing half-written
    # An agent fixes the cause (here: the record's payload names a real team) and retries.
    InboundRecord.objects.filter(pk=record.pk).update(
        payload=api_entry(department="customer-support")
    )
    inbound_retry(failed)
    done = inbound_process(record.pk)
    # The agent's "process again" gives it a fresh budget of attempts.
    assert done.status == InboundStatus.PROCESSED and done.attempts == 1 and done.error == ""


def test_unexpected_error_is_kept_not_raised(departments):
    record, _ = inbound_store(
        channel=Channel.API, source="test", payload=api_entry(severity="urgent!")
    )
    failed = inbound_process(record.pk)
    assert failed.status == InboundStatus.FAILED
    assert "severity" in failed.error


def test_record_without_processor_fails_visibly(departments):
    record, _ = inbound_store(channel=Channel.PHONE, source="pbx", payload={"call": 1})
    assert inbound_process(record.pk).status == InboundStatus.FAILED


def test_reference_appends_to_existing_ticket(departments):
    first, _ = inbound_store(channel=Channel.API, source="t", payload=api_entry(external_id="a"))
    ticket = Message.objects.get(pk=inbound_process(first.pk).message_id).ticket
    follow, _ = inbound_store(
        channel=Channel.API,
        source="t",
        payload={"ticket": ticket.reference, "body": "update", "external_id": "b"},
    )
    inbound_process(follow.pk)
    assert ticket.messages.count() == 2


def queued_messages() -> int:
    """Messages waiting in this session's main queue on the real broker."""
    from supportdesk.celery import app

    with app.connection_for_write() as conn:
        name = app.conf.task_default_queue
        return conn.default_channel.queue_declare(queue=name, passive=True).message_count


@pytest.fixture
def empty_queue():
    from supportdesk.celery import app

    def purge() -> None:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)

    purge()
    yield
    purge()


def test_stale_records_are_requeued_all_of_them(departments, settings, empty_queue):
    """Before: at most 500 per run (every 5 minutes), so the 501st waited 5 more."""
    settings.SUPPORTDESK_INBOUND_BATCH = 50
    records = inbound_store_many(
        channel=Channel.EMAIL,
        source="t",
        raws=[f"Subject: {n}".encode() for n in range(1203)],
        enqueue=False,  # as if their queue entries were lost
    )
    InboundRecord.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    inbound_store(channel=Channel.API, source="t", payload=api_entry(), enqueue=False)  # fresh
    InboundRecord.objects.filter(pk=records[0][0].pk).update(status=InboundStatus.PROCESSED)
    assert inbound_requeue_stale(older_than=timedelta(minutes=1)) == 1202
    assert queued_messages() == 25  # tasks of at most 50 records


def test_ledger_refuses_unknown_channel_and_empty_payload(db):
    with pytest.raises(ValueError, match="not an inbound channel"):
        inbound_store(channel="note", source="x", payload={"a": 1})
    with pytest.raises(ValueError, match="raw bytes or the payload"):
        inbound_store(channel=Channel.EMAIL, source="x")
