"""A task queued by the application is run by a separate Celery worker process."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from channels_app.inbound import inbound_store
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Channel, Ticket

from .processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


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
    # The worker process, not this one, did it: its log names the task.
    worker.wait_for_task_success("channels_app.process_inbound_record")


# The real pass (PostgreSQL and Redis): the list cache is on only with a shared cache.
@pytest.mark.postgres
def test_a_ticket_the_worker_opens_shows_in_a_cached_list(worker, admin):
    assert settings.SUPPORTDESK_LIST_CACHE_SECONDS > 0
    admin.get("/admin/tickets/ticket/")  # cached by this (web) process
    record, _ = inbound_store(
        channel=Channel.API,
        source="test",
        payload={"subject": "Opened by the worker", "body": "x", "external_id": "lc-1"},
    )
    wait_until(
        lambda: InboundRecord.objects.get(pk=record.pk).status == InboundStatus.PROCESSED,
        120,
        "the worker to process the record",
        worker,
    )
    # The worker moves the shared lists version on once its batch's announcements go out,
    # a moment after the record's status commits: the list is rendered anew within seconds,
    # long before the entry's own expiry (300 s) would have let the ticket in.
    assert settings.SUPPORTDESK_LIST_CACHE_SECONDS > 30
    wait_until(
        lambda: "Opened by the worker" in admin.get("/admin/tickets/ticket/").content.decode(),
        30,
        "the cached list to show the worker's ticket",
        worker,
    )


def _sessions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_the_worker_keeps_its_database_connection_between_tasks(worker):
    """Celery's Django fix-up closed the connection before and after every task, whatever
    CONN_MAX_AGE said: each task opened a PostgreSQL session of its own (issue 16: 1,978
    sessions for 2,188 tasks in the ingest bench). Now a worker keeps one."""
    first, _ = inbound_store(
        channel=Channel.API,
        source="test",
        payload={"subject": "Warm-up", "body": "x", "external_id": f"keep-{os.getpid()}-0"},
    )
    wait_until(
        lambda: InboundRecord.objects.get(pk=first.pk).status != InboundStatus.RECEIVED,
        120,
        "the worker to process the first record",
        worker,
    )
    before = _sessions()
    records = [
        inbound_store(
            channel=Channel.API,
            source="test",
            payload={"subject": f"Kept {n}", "body": "x", "external_id": f"keep-{os.getpid()}-{n}"},
        )[0]
        for n in range(1, 7)
    ]
    for record in records:  # one task each, run one after the other
        wait_until(
            lambda record=record: (
                InboundRecord.objects.get(pk=record.pk).status == InboundStatus.PROCESSED
            ),
            120,
            "the worker to process the records",
            worker,
        )
    worker.wait_for_task_success("channels_app.process_inbound_record")
    # This process holds its own connection: every new session is the worker's.
    assert _sessions() - before <= 1
