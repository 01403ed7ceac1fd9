"""Poison records in a real Celery worker on PostgreSQL and Redis: the good mails of a
batch are processed, a bad one fails with its reason, a transient error is retried, and a
mail that kills the worker every time ends ``failed`` after the attempt limit."""

from __future__ import annotations

import pytest

from channels_app.inbound import inbound_store_many
from channels_app.models import InboundRecord, InboundStatus
from tests.processes import start_worker, wait_until
from tickets.models import Attachment, Channel, Ticket

from .mail_helpers import make_mail
from .test_poison import LONG_TYPE, long_header_mail

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FAULTS = {"include": ("tests.channels_app.faults",), "SUPPORTDESK_TEST_FAULTS": "1"}


@pytest.fixture
def faulty_worker(departments):
    """A production-shaped worker (prefork: a child that dies is replaced, its task
    re-delivered) that runs the poison of tests/channels_app/faults.py."""
    process = start_worker(pool="prefork", **FAULTS)
    yield process
    process.stop(sig=9)


def store(raws: list[bytes]) -> list[int]:
    """Store the mails as an import does, queued as one batch."""
    stored = inbound_store_many(channel=Channel.EMAIL, source="import", raws=raws)
    return [record.pk for record, _ in stored]


def settled(ids: list[int]):
    def check() -> dict[int, InboundRecord] | None:
        records = InboundRecord.objects.in_bulk(ids)
        waiting = [r for r in records.values() if r.status == InboundStatus.RECEIVED]
        return None if waiting else records

    return check


def test_a_batch_with_poison_ends_with_the_good_mails_processed(faulty_worker):
    """Before: the 302-character Content-Type was a DataError, retried as transient, and
    its batch's good mails stayed `received` behind it for ever."""
    raws = [make_mail(subject=f"Good {n}") for n in range(6)]
    raws[2] = long_header_mail()
    raws[4] = make_mail(subject="Poison", headers={"X-Test-Fault": "integrity"})
    ids = store(raws)
    records = wait_until(settled(ids), 90, "the batch to settle", faulty_worker)
    statuses = [records[pk].status for pk in ids]
    assert statuses == ["processed"] * 4 + ["failed", "processed"], [
        r.error for r in records.values()
    ]
    assert "IntegrityError" in records[ids[4]].error
    assert Attachment.objects.get().content_type == LONG_TYPE[:255]
    assert Ticket.objects.count() == 5


def test_a_transient_error_is_retried_by_the_task(faulty_worker):
    ids = store([make_mail(subject="Deadlocked once", headers={"X-Test-Fault": "deadlock-once"})])
    records = wait_until(settled(ids), 90, "the retry to process the mail", faulty_worker)
    record = records[ids[0]]
    assert record.status == InboundStatus.PROCESSED and record.attempts == 2
    faulty_worker.wait_for_output("Retry in")


def test_a_mail_that_kills_the_worker_every_time_ends_failed(faulty_worker, settings):
    """Each crash rolls the attempt back, but its count was committed before it began:
    after the limit (5) the mail ends `failed`, and the batch's other mails are done."""
    raws = [make_mail(subject=f"Neighbour {n}") for n in range(4)]
    raws.insert(1, make_mail(subject="Kills the worker", headers={"X-Test-Fault": "crash"}))
    ids = store(raws)
    records = wait_until(settled(ids), 150, "the crashing mail to be given up", faulty_worker)
    poison = records[ids[1]]
    assert poison.status == InboundStatus.FAILED
    assert poison.attempts == settings.SUPPORTDESK_INBOUND_MAX_ATTEMPTS
    assert "never finished" in poison.error
    others = [records[pk] for pk in ids if pk != ids[1]]
    assert {r.status for r in others} == {InboundStatus.PROCESSED}
    assert Ticket.objects.count() == 4
    # The whole log, not ``output`` (its last 80 lines): the neighbours' auto-replies
    # and the SLA tasks logged after the last crash can push the line out of the tail.
    faulty_worker.wait_for_output("exited with 'signal 9 (SIGKILL)'", timeout=5)
