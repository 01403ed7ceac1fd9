"""Poison records: only transient errors are retried, anything else ends ``failed`` with
its reason, one record never holds back another, and over-long values are cut to their
columns instead of becoming database errors."""

from __future__ import annotations

import pytest
from django.db import DataError, IntegrityError, OperationalError, connection, transaction

from channels_app.inbound import (
    InboundTransient,
    inbound_process,
    inbound_process_many,
    inbound_retry,
    inbound_store,
    inbound_store_many,
)
from channels_app.models import InboundRecord, InboundStatus
from channels_app.transient import is_transient
from tickets.models import Attachment, Channel, Message, Ticket

from . import faults
from .mail_helpers import deliver, make_mail

pytestmark = pytest.mark.django_db

LONG_TYPE = "application/x-" + "very-long-subtype-" * 16  # 302 characters


@pytest.fixture
def with_faults():
    faults.install()
    yield
    faults.uninstall()


def long_header_mail(message_id: str = "long@example.org") -> bytes:
    raw = make_mail(
        subject="Invoice attached",
        message_id=message_id,
        attachments=[("invoice.bin", b"%PDF-1.4 data", "application/octet-stream")],
    )
    # The attachment declares a 302-character type and a 300-character Content-ID.
    raw = raw.replace(
        b"Content-Type: application/octet-stream", f"Content-Type: {LONG_TYPE}".encode()
    )
    return raw.replace(
        b"Content-Disposition: attachment;",
        b"Content-ID: <" + b"c" * 290 + b"@example.org>\nContent-Disposition: attachment;",
    )


def test_values_longer_than_their_columns_are_cut_not_a_database_error(departments):
    """On PostgreSQL a 302-character Content-Type was a DataError, retried for ever."""
    assert len(LONG_TYPE) > 255
    long_id = "x" * 1200 + "@example.org"
    record = deliver(long_header_mail(message_id=long_id))
    assert record.status == InboundStatus.PROCESSED, record.error
    attachment = Attachment.objects.get()
    assert attachment.content_type == LONG_TYPE[:255]
    assert len(attachment.content_id) == 255
    message = Message.objects.get(pk=record.message_id)
    assert message.external_id == long_id[:998]
    # The cut id still recognises the same mail delivered again.
    again = deliver(long_header_mail(message_id=long_id) + b"\n")
    assert again.message_id == message.pk and Message.objects.count() == 1


def test_a_non_transient_error_fails_the_record_with_its_reason(departments, with_faults):
    record = deliver(make_mail(headers={"X-Test-Fault": "integrity"}))
    assert record.status == InboundStatus.FAILED
    assert "IntegrityError" in record.error and "inbound_status_valid" in record.error
    assert record.attempts == 1
    assert Ticket.objects.count() == 0  # the attempt was rolled back whole


def test_a_batch_with_a_poison_record_processes_the_good_ones(departments, with_faults):
    raws = [make_mail(subject=f"Mail {n}") for n in range(4)]
    raws[1] = make_mail(subject="Poison", headers={"X-Test-Fault": "integrity"})
    raws[2] = long_header_mail()
    ids = [r.pk for r, _ in inbound_store_many(channel=Channel.EMAIL, source="t", raws=raws)]
    records = {r.pk: r for r in inbound_process_many(ids)}
    statuses = [records[pk].status for pk in ids]
    assert statuses == ["processed", "failed", "processed", "processed"]
    assert "IntegrityError" in records[ids[1]].error
    assert all(records[pk].attempts == 1 for pk in ids)  # the fallback is the same attempt
    assert Ticket.objects.count() == 3


def test_a_record_whose_attempts_are_spent_fails_without_another_try(departments, settings):
    """A mail that crashed the worker every time: its attempts were counted (outside the
    rolled-back work) up to the limit, so the next delivery ends it instead of trying."""
    settings.SUPPORTDESK_INBOUND_MAX_ATTEMPTS = 3
    record, _ = inbound_store(channel=Channel.EMAIL, source="t", raw=make_mail(), enqueue=False)
    InboundRecord.objects.filter(pk=record.pk).update(attempts=3)
    failed = inbound_process(record.pk)
    assert failed.status == InboundStatus.FAILED and failed.attempts == 3
    assert "started 3 times and never finished" in failed.error
    assert Ticket.objects.count() == 0
    # An agent's "process again" gives it a fresh budget.
    inbound_retry(failed)
    assert inbound_process(record.pk).status == InboundStatus.PROCESSED


def test_records_whose_last_attempt_never_finished_run_alone_least_tried_first(departments):
    """In a batch, a record tried before without finishing is a suspect: it runs alone
    after the others, so it cannot take them down with it again."""
    raws = [make_mail(subject=f"Mail {n}") for n in range(4)]
    ids = [r.pk for r, _ in inbound_store_many(channel=Channel.EMAIL, source="t", raws=raws)]
    InboundRecord.objects.filter(pk__in=ids[:2]).update(attempts=2)  # died mid-batch twice
    records = {r.pk: r for r in inbound_process_many(ids)}
    assert {r.status for r in records.values()} == {InboundStatus.PROCESSED}
    assert [records[pk].attempts for pk in ids] == [3, 3, 1, 1]
    numbers = {pk: Message.objects.get(pk=records[pk].message_id).ticket.number for pk in ids}
    assert numbers[ids[2]] < numbers[ids[3]] < numbers[ids[0]] < numbers[ids[1]]


@pytest.mark.postgres
def test_transient_errors_are_those_that_may_not_happen_again(departments):
    def error_of(sql: str) -> Exception:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
        except Exception as exc:
            return exc
        raise AssertionError(f"{sql} raised nothing")

    def raise_state(code: str) -> str:
        return f"DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{code}'; END $$"

    for code in ("40001", "40P01", "55P03"):  # serialization, deadlock, lock timeout
        exc = error_of(raise_state(code))
        assert isinstance(exc, OperationalError) and is_transient(exc), code
    too_long = error_of("CREATE TEMP TABLE t (v varchar(3)); INSERT INTO t VALUES ('abcd')")
    assert isinstance(too_long, DataError) and not is_transient(too_long)
    assert not is_transient(error_of("SELECT 1/0"))
    refused = error_of("INSERT INTO tickets_department (name) VALUES (NULL)")
    assert isinstance(refused, IntegrityError) and not is_transient(refused)
    # The server ends the connection (as a restart does): transient.
    lost = error_of("SELECT pg_terminate_backend(pg_backend_pid())")
    assert is_transient(lost)
    connection.close()


@pytest.mark.postgres
def test_a_transient_error_leaves_the_record_waiting_for_a_retry(departments, with_faults):
    record, _ = inbound_store(
        channel=Channel.EMAIL,
        source="t",
        raw=make_mail(headers={"X-Test-Fault": "deadlock-once"}),
        enqueue=False,
    )
    with pytest.raises(InboundTransient) as raised:
        inbound_process(record.pk)
    assert raised.value.record_ids == [record.pk]
    waiting = InboundRecord.objects.get(pk=record.pk)
    assert waiting.status == InboundStatus.RECEIVED and waiting.attempts == 1
    assert "deadlock" in waiting.error
    done = inbound_process(record.pk)
    assert done.status == InboundStatus.PROCESSED and done.attempts == 2 and done.error == ""
