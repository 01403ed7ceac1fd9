"""Store raw arrivals first, then process them; the one place InboundRecords change.

``inbound_store`` is what every entry point (webhook, IMAP poll, import, API) calls: it
returns only once the raw data is committed, and queues processing after the commit.
``inbound_process`` is what the Celery task runs: idempotent, and a record that cannot
be processed ends ``failed`` with the reason instead of crashing the worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from tickets.errors import TicketError
from tickets.models import Channel

from .errors import InboundIgnored, InboundRejected
from .models import InboundRecord, InboundStatus
from .processors import processor_for

logger = logging.getLogger(__name__)
DONE = frozenset({InboundStatus.PROCESSED, InboundStatus.IGNORED})


def inbound_store(
    *,
    channel: str,
    source: str,
    raw: bytes | None = None,
    payload: dict[str, Any] | None = None,
    external_id: str | None = None,
    enqueue: bool = True,
) -> tuple[InboundRecord, bool]:
    """Durably store one arrival and queue its processing; return (record, created).

    The same bytes (or JSON) on the same channel are stored once: a retried webhook or
    re-read mailbox returns the existing record with ``created`` False. ``enqueue=False``
    is for callers that process the record in-process right away (``ingest_email --sync``).
    """
    if channel not in Channel.values or channel == Channel.NOTE:
        raise ValueError(f"{channel!r} is not an inbound channel.")
    if raw is None and payload is None:
        raise ValueError("inbound_store needs the raw bytes or the payload.")
    digest = _digest(raw, payload)
    try:
        with transaction.atomic():
            record, created = InboundRecord.objects.get_or_create(
                channel=channel,
                sha256=digest,
                defaults={
                    "source": source[:100],
                    "raw": raw,
                    "payload": payload,
                    "external_id": (external_id or None) and external_id[:998],
                },
            )
    except IntegrityError:  # the same arrival stored concurrently by another process
        record, created = InboundRecord.objects.get(channel=channel, sha256=digest), False
    if created and enqueue:
        enqueue_processing(record.pk)
    return record, created


def enqueue_processing(record_id: int) -> None:
    """Queue the record for a worker once the current transaction commits."""
    transaction.on_commit(lambda: _send(record_id))


def _send(record_id: int) -> None:
    from .tasks import process_inbound_record  # the task module imports this one

    try:
        process_inbound_record.delay(record_id)
    except Exception:  # broker down: the record is stored, beat re-queues it later
        logger.exception("could not queue inbound record %s; beat will re-queue it", record_id)


def inbound_process(record_id: int) -> InboundRecord:
    """Turn a stored record into a timeline message; safe to run any number of times."""
    with transaction.atomic():
        record = InboundRecord.objects.select_for_update().get(pk=record_id)
        if record.status in DONE:
            return record
        record.attempts += 1
        record.last_attempt_at = timezone.now()
        processor = processor_for(record.channel)
        try:
            if processor is None:
                raise InboundRejected(f"No processor handles {record.channel!r} records yet.")
            with transaction.atomic():  # a failure undoes the processor's half-done writes
                message = processor(record)
        except InboundIgnored as exc:
            _finish(record, InboundStatus.IGNORED, exc.reason)
        except (InboundRejected, TicketError) as exc:
            _finish(record, InboundStatus.FAILED, getattr(exc, "reason", None) or str(exc))
        except DatabaseError:
            raise  # transient (lock, connection): the task retries the whole attempt
        except Exception as exc:  # a bug or a message we did not foresee: keep it, say why
            logger.exception("inbound record %s failed", record_id)
            detail = "".join(traceback.format_exception_only(exc)).strip()
            _finish(record, InboundStatus.FAILED, f"Unexpected error: {detail}")
        else:
            record.message = message
            _finish(record, InboundStatus.PROCESSED, "")
        return record


def inbound_retry(record: InboundRecord) -> InboundRecord:
    """Put a failed or ignored record back in the queue (an agent's "process again")."""
    with transaction.atomic():
        locked = InboundRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status == InboundStatus.PROCESSED:
            return locked
        locked.status = InboundStatus.RECEIVED
        locked.error = ""
        locked.save(update_fields=["status", "error"])
        enqueue_processing(locked.pk)
    return locked


def inbound_requeue_stale(*, older_than: timedelta | None = None, limit: int = 500) -> int:
    """Queue again records still waiting after ``older_than``; return how many.

    Covers a message queued when the broker was down or a worker that died mid-task:
    processing is idempotent, so a second delivery is harmless.
    """
    age = older_than or timedelta(seconds=settings.SUPPORTDESK_REQUEUE_AFTER_SECONDS)
    ids = list(
        InboundRecord.objects.filter(
            status=InboundStatus.RECEIVED, received_at__lt=timezone.now() - age
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for record_id in ids:
        enqueue_processing(record_id)
    return len(ids)


def _finish(record: InboundRecord, status: str, error: str) -> None:
    record.status = status
    record.error = error
    record.processed_at = timezone.now() if status in DONE else None
    record.save(
        update_fields=[
            "status",
            "error",
            "attempts",
            "last_attempt_at",
            "processed_at",
            "message",
        ]
    )


def _digest(raw: bytes | None, payload: dict[str, Any] | None) -> str:
    if raw is not None:
        return hashlib.sha256(raw).hexdigest()
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
