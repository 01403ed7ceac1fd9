"""Celery tasks of the channels: thin wrappers that take ids and call the services."""

from datetime import timedelta
from typing import Any

from celery import shared_task

from .inbound import (
    InboundTransient,
    inbound_process,
    inbound_process_many,
    inbound_requeue_stale,
)
from .windows import inbound_window_take

# Processing is idempotent: acknowledged late, retried with backoff on transient errors
# only (a lost connection, a deadlock: see transient.py); any other error has already
# ended its record `failed`, and a retry would fail the same way.
PROCESSING: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (InboundTransient,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
}


@shared_task(
    name="channels_app.process_inbound_record", soft_time_limit=60, time_limit=90, **PROCESSING
)
def process_inbound_record(record_id: int) -> str:
    """Process one stored inbound record; return its resulting status."""
    return inbound_process(record_id).status


@shared_task(
    name="channels_app.process_inbound_records", soft_time_limit=240, time_limit=300, **PROCESSING
)
def process_inbound_records(record_ids: list[int]) -> dict[str, int]:
    """Process a batch of stored inbound records; return how many ended in each status."""
    counts: dict[str, int] = {}
    for record in inbound_process_many(record_ids):
        counts[record.status] = counts.get(record.status, 0) + 1
    return counts


@shared_task(name="channels_app.process_webhook_window", soft_time_limit=60, time_limit=90)
def process_webhook_window(key: str) -> int:
    """Queue the webhook mail of the window that just closed, in batches; return how many
    (windows.py). Not retried: a record it missed is the sweep's."""
    return inbound_window_take(key)


@shared_task(
    name="channels_app.requeue_stale_inbound",
    soft_time_limit=120,
    time_limit=150,
    expires=60,  # a run that waited this long is superseded by the next one
)
def requeue_stale_inbound(older_than_seconds: int | None = None) -> int:
    """Re-queue records left waiting (lost queue entries: broker outage or restart, a
    worker that died); return how many. Beat runs it every SUPPORTDESK_REQUEUE_EVERY_SECONDS,
    a worker when it connects to the broker (with 0: everything still waiting)."""
    age = None if older_than_seconds is None else timedelta(seconds=older_than_seconds)
    return inbound_requeue_stale(older_than=age)
