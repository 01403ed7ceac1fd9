"""Store raw arrivals first, then process them; the one place InboundRecords change.

``inbound_store`` is what every entry point (webhook, IMAP poll, import, API) calls: it
returns only once the raw data is committed, and queues processing after the commit.
``inbound_process`` is what the Celery task runs: idempotent, and a record that cannot
be processed ends ``failed`` with the reason instead of crashing the worker.
``inbound_store_many`` / ``inbound_process_many`` do the same for many records at once
(imports, busy mailboxes): one transaction and bulk lookups per batch; if anything in a
batch goes wrong the batch is undone and its records are processed one by one, so a bad
record fails alone and a good one never waits on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from tickets.errors import TicketError
from tickets.events import announcements_batched
from tickets.models import Channel

from .errors import InboundIgnored, InboundRejected
from .models import InboundRecord, InboundStatus
from .processors import batch_processor_for, processor_for

logger = logging.getLogger(__name__)
DONE = frozenset({InboundStatus.PROCESSED, InboundStatus.IGNORED})
# What processing writes on a record, besides its status and error.
_FINISH_FIELDS = ["attempts", "last_attempt_at", "processed_at", "message"]


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


def inbound_store_many(
    *, channel: str, source: str, raws: Sequence[bytes], enqueue: bool = True
) -> list[tuple[InboundRecord, bool]]:
    """Durably store many raw arrivals in one transaction; return (record, created) each.

    Like ``inbound_store`` (bytes already stored come back with ``created`` False, and
    the second of two equal items in ``raws`` too), but one insert for all of them, and
    the new records are queued in batches of ``SUPPORTDESK_INBOUND_BATCH``.
    """
    if channel not in Channel.values or channel == Channel.NOTE:
        raise ValueError(f"{channel!r} is not an inbound channel.")
    digests = [_digest(raw, None) for raw in raws]
    try:
        with transaction.atomic():
            stored = {
                r.sha256: r
                for r in InboundRecord.objects.filter(channel=channel, sha256__in=set(digests))
            }
            new: dict[str, InboundRecord] = {}
            for raw, digest in zip(raws, digests, strict=True):
                if digest not in stored and digest not in new:
                    new[digest] = InboundRecord(
                        channel=channel, sha256=digest, source=source[:100], raw=raw
                    )
            InboundRecord.objects.bulk_create(list(new.values()))
            if enqueue and new:
                enqueue_processing_many([r.pk for r in new.values()])
    except IntegrityError:  # some were stored concurrently: fall back to one at a time
        return [
            inbound_store(channel=channel, source=source, raw=raw, enqueue=enqueue) for raw in raws
        ]
    out: list[tuple[InboundRecord, bool]] = []
    for digest in digests:
        if digest in new:
            out.append((new.pop(digest), True))
            stored[digest] = out[-1][0]
        else:
            out.append((stored[digest], False))
    return out


def enqueue_processing_many(record_ids: Sequence[int]) -> None:
    """Queue the records in batches once the current transaction commits."""
    size = max(1, settings.SUPPORTDESK_INBOUND_BATCH)
    chunks = [list(record_ids[i : i + size]) for i in range(0, len(record_ids), size)]
    transaction.on_commit(lambda: _send_many(chunks))


def _send_many(chunks: list[list[int]]) -> None:
    from .tasks import process_inbound_records

    for chunk in chunks:
        try:
            process_inbound_records.delay(chunk)
        except Exception:  # broker down: the records are stored, beat re-queues them later
            logger.exception("could not queue inbound records %s…; beat will re-queue", chunk[:3])


def inbound_process_many(record_ids: Sequence[int]) -> list[InboundRecord]:
    """Process several stored records together; safe to run any number of times.

    One transaction, one lock query and the channel's batch processor (bulk lookups and
    inserts). The ticket events of the whole batch are announced as one list. If the
    batch raises anything, it is rolled back and every record is processed on its own.
    """
    ids = sorted(set(record_ids))
    if len(ids) <= 1:
        return [inbound_process(record_id) for record_id in ids]
    try:
        with announcements_batched(), transaction.atomic():
            records = list(
                InboundRecord.objects.select_for_update().filter(pk__in=ids).order_by("pk")
            )
            _process_batch([r for r in records if r.status not in DONE])
    except Exception:  # incl. DatabaseError: one at a time, each fails (or retries) alone
        logger.warning("a batch of %d records falls back to one by one", len(ids), exc_info=True)
        return [inbound_process(record_id) for record_id in ids]
    return records


def _process_batch(records: list[InboundRecord]) -> None:
    now = timezone.now()
    by_channel: dict[str, list[InboundRecord]] = {}
    for record in records:
        record.attempts += 1
        record.last_attempt_at = now
        by_channel.setdefault(record.channel, []).append(record)
    for channel, group in by_channel.items():
        batch = batch_processor_for(channel)
        if batch is not None:
            outcomes = batch(group)
        else:
            outcomes = [_outcome_of(processor_for(channel), record) for record in group]
        for record, outcome in zip(group, outcomes, strict=True):
            _apply(record, outcome)
    _save_outcomes(records)


def _save_outcomes(records: list[InboundRecord]) -> None:
    """Write each record's outcome: one prepared UPDATE run for all rows (the ORM's
    bulk_update builds a CASE per field and row, which cost more than the mails here)."""
    if not records:
        return
    meta = InboundRecord._meta
    fields = [meta.get_field(name) for name in ["status", "error", *_FINISH_FIELDS]]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608 - names from _meta
    rows = [
        [f.get_db_prep_save(getattr(r, f.attname), connection) for f in fields] + [r.pk]
        for r in records
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # many statements per round trip
            from psycopg2.extras import execute_batch

            execute_batch(cursor.cursor, sql, rows, page_size=100)
        else:
            cursor.executemany(sql, rows)


def _outcome_of(processor: Any, record: InboundRecord) -> Any:
    """Run the processor in a savepoint (a failure undoes its half-done writes); return
    its Message, or the InboundIgnored / InboundRejected / TicketError it raised."""
    if processor is None:
        return InboundRejected(f"No processor handles {record.channel!r} records yet.")
    try:
        with transaction.atomic():
            return processor(record)
    except (InboundIgnored, InboundRejected, TicketError) as exc:
        return exc


def _apply(record: InboundRecord, outcome: Any) -> None:
    if isinstance(outcome, InboundIgnored):
        status, error = InboundStatus.IGNORED, outcome.reason
    elif isinstance(outcome, InboundRejected | TicketError):
        status, error = InboundStatus.FAILED, getattr(outcome, "reason", None) or str(outcome)
    else:
        record.message = outcome
        status, error = InboundStatus.PROCESSED, ""
    record.status = status
    record.error = error
    record.processed_at = timezone.now() if status in DONE else None


def inbound_process(record_id: int) -> InboundRecord:
    """Turn a stored record into a timeline message; safe to run any number of times."""
    with transaction.atomic():
        record = InboundRecord.objects.select_for_update().get(pk=record_id)
        if record.status in DONE:
            return record
        record.attempts += 1
        record.last_attempt_at = timezone.now()
        try:
            outcome = _outcome_of(processor_for(record.channel), record)
        except DatabaseError:
            raise  # transient (lock, connection): the task retries the whole attempt
        except Exception as exc:  # a bug or a message we did not foresee: keep it, say why
            logger.exception("inbound record %s failed", record_id)
            detail = "".join(traceback.format_exception_only(exc)).strip()
            outcome = InboundRejected(f"Unexpected error: {detail}")
        _apply(record, outcome)
        record.save(update_fields=["status", "error", *_FINISH_FIELDS])
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
    if ids:
        enqueue_processing_many(ids)
    return len(ids)


def _digest(raw: bytes | None, payload: dict[str, Any] | None) -> str:
    if raw is not None:
        return hashlib.sha256(raw).hexdigest()
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
