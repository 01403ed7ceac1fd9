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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F, Field
from django.utils import timezone

from supportdesk.sql import ids_test
from tickets.errors import TicketError
from tickets.events import announcements_batched
from tickets.lengths import fit
from tickets.models import Channel, Direction, Message
from tickets.signals import intake_stored

from .errors import InboundIgnored, InboundRejected
from .models import InboundRecord, InboundStatus
from .processors import batch_processor_for, processor_for
from .transient import is_transient

logger = logging.getLogger(__name__)
DONE = frozenset({InboundStatus.PROCESSED, InboundStatus.IGNORED})
RETRY_PREFIX = "Will be tried again: "
REQUEUE_CHUNK = 5000  # ids read per query when queueing a backlog again
# What processing writes on a record (its attempt is counted before, on its own).
_OUTCOME_FIELDS = ["status", "error", "processed_at", "message"]


class InboundTransient(Exception):  # noqa: N818 - an outcome the task retries, not a bug
    """Processing met a transient error (see ``transient.py``); the records named stay
    ``received`` for the task's retry (or the re-queue sweep)."""

    def __init__(self, record_ids: Sequence[int]) -> None:
        super().__init__(f"transient error on inbound record(s) {list(record_ids)[:10]}")
        self.record_ids = list(record_ids)


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
    record = InboundRecord(
        channel=channel,
        sha256=digest,
        source=fit(InboundRecord, "source", _text(source)),
        raw=raw,
        payload=payload,
        # NUL: PostgreSQL text refuses it (a header can carry one).
        external_id=_text(external_id or "")
        and fit(InboundRecord, "external_id", _text(external_id or ""))
        or None,
    )
    created = _insert_or_ignore(record)
    if not created:  # stored before (a retry, a re-read), maybe by another process just now
        found = InboundRecord.objects.filter(channel=channel, sha256=digest).first()
        if found is None:  # the other process rolled back meanwhile: insert it after all
            return inbound_store(
                channel=channel,
                source=source,
                raw=raw,
                payload=payload,
                external_id=external_id,
                enqueue=enqueue,
            )
        record = found
    if created and enqueue:
        inbound_enqueue(record.pk)
    return record, created


def _insert_or_ignore(record: InboundRecord) -> bool:
    """Insert ``record`` unless its content is stored already; return whether it was.

    One statement, ``INSERT … ON CONFLICT (channel, sha256) DO NOTHING RETURNING id``
    (PostgreSQL, and SQLite 3.35+): a webhook's request makes one round trip to the
    database, where get-or-create made four and a savepoint. Two processes storing the
    same bytes at once: the second waits for the first's commit and inserts nothing.
    """
    sql, fields = _insert_or_ignore_sql()
    # The connection itself, not the ``connection`` proxy that looks it up again on every
    # attribute a field reads (~20 lookups a field, in every webhook request).
    db = connections[DEFAULT_DB_ALIAS]
    values = [f.get_db_prep_save(f.pre_save(record, add=True), db) for f in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    record.pk = row[0]
    record._state.adding, record._state.db = False, connection.alias
    return True


@cache
def _insert_or_ignore_sql() -> tuple[str, list[Any]]:
    """The statement and its fields, built once a process (every webhook request built it)."""
    meta = InboundRecord._meta
    fields: list[Any] = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    unique = ", ".join(
        quote(str(cast(Field, meta.get_field(name)).column)) for name in ("channel", "sha256")
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({unique}) DO NOTHING RETURNING {quote(str(meta.pk.column))}"
    )  # names from _meta, values as parameters
    return sql, fields


def inbound_enqueue(record_id: int) -> None:
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
                        channel=channel,
                        sha256=digest,
                        source=fit(InboundRecord, "source", source),
                        raw=raw,
                    )
            InboundRecord.objects.bulk_create(list(new.values()))
            if enqueue and new:
                inbound_enqueue_many([r.pk for r in new.values()])
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


def inbound_enqueue_many(record_ids: Sequence[int]) -> None:
    """Queue the records in batches once the current transaction commits."""
    chunks = _chunks(record_ids)
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

    Records on their first attempt go through one transaction, one lock query and the
    channel's batch processor (bulk lookups and inserts); if that batch raises anything
    it is rolled back and its records are processed one by one. Records whose earlier
    attempt never finished (the worker died) are suspects: each is processed alone, least
    tried first, so a mail that kills the worker holds back no other. The ticket events of
    the whole call are announced as one list. Raise InboundTransient, naming the records
    left waiting, when some hit a transient error; the others are done by then. Return
    the records as processed (those not waiting any more as stored), in id order.
    """
    ids = sorted(set(record_ids))
    with _retry_if_transient(ids):
        claimed = _claim_first_attempts(ids) if len(ids) > 1 else []
        taken = set(claimed)
        rest = [pk for pk in ids if pk not in taken]
        # Only what the claim did not take is read: none of an intake's fresh batch.
        peek = InboundRecord.objects.filter(pk__in=rest, status=InboundStatus.RECEIVED)
        waiting = dict(peek.values_list("pk", "attempts")) if rest else {}
    singles = sorted(waiting, key=lambda pk: (waiting[pk], pk))
    left: list[int] = []
    cause: BaseException | None = None
    held: dict[int, InboundRecord] = {}
    with announcements_batched():
        # (id, whether its attempt still has to be counted); a lone claimed record runs
        # alone, as a lone fresh one always did.
        todo = [(pk, False) for pk in claimed] if len(claimed) == 1 else []
        if len(claimed) > 1:
            fallback, done = _process_fresh_batch(claimed)
            todo += [(pk, False) for pk in fallback]
            held.update((r.pk, r) for r in done)
        todo += [(pk, True) for pk in singles]
        for position, (pk, count) in enumerate(todo):
            try:
                record = inbound_process(pk) if count else _process_alone(pk)
            except InboundTransient as exc:
                left.append(pk)
                cause = cause or exc.__cause__
                if isinstance(exc.__cause__, SoftTimeLimitExceeded):  # no time for the rest
                    left += [other for other, _ in todo[position + 1 :]]
                    break
            else:
                held[pk] = record
    if left:
        raise InboundTransient(left) from cause
    # The records processed here are handed back as they were written; only the others
    # (done before, or not found) are read, without the raw bytes and payload (most of
    # what the database would send, and a caller wants the outcomes).
    unread = [pk for pk in ids if pk not in held]
    if unread:
        stored = InboundRecord.objects.filter(pk__in=unread).defer("raw", "payload")
        held.update((r.pk, r) for r in stored)
    return [held[pk] for pk in ids if pk in held]


def _claim_first_attempts(ids: Sequence[int]) -> list[int]:
    """Count the first attempt of each waiting, never tried record of ``ids``; return
    their ids, ascending.

    One ``UPDATE … WHERE attempts = 0 … RETURNING id``, committed on its own before any
    processing (an attempt that kills the worker is rolled back, its count is not), where
    a read of the batch's attempts, a locking read and an UPDATE were three statements
    and two writes of every row. Of two processes given the same records, the second
    finds them tried (attempts 1) and treats them as suspects, as before.
    """
    meta = InboundRecord._meta
    table, pk = connection.ops.quote_name(meta.db_table), _quoted_column(meta.pk)
    attempts = _quoted_column(cast(Field, meta.get_field("attempts")))
    stamp = cast(Field, meta.get_field("last_attempt_at"))
    status = _quoted_column(cast(Field, meta.get_field("status")))
    test, params = ids_test(ids, connection.vendor)
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: see _insert_or_ignore
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {attempts} = 1, {_quoted_column(stamp)} = %s "  # noqa: S608 - names from _meta
            f"WHERE {pk} {test} AND {status} = %s AND {attempts} = 0 AND %s > 0 "
            f"RETURNING {pk}",
            [
                stamp.get_db_prep_save(timezone.now(), db),
                *params,
                InboundStatus.RECEIVED.value,
                settings.SUPPORTDESK_INBOUND_MAX_ATTEMPTS,
            ],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _process_fresh_batch(ids: list[int]) -> tuple[list[int], list[InboundRecord]]:
    """Process the claimed records ``ids`` as one batch; return the ids to process one by
    one instead (all of them when the batch raised) and the records as written."""
    try:
        with transaction.atomic():
            records = list(
                InboundRecord.objects.select_for_update().filter(pk__in=ids).order_by("pk")
            )
            _process_batch([r for r in records if r.status == InboundStatus.RECEIVED])
    except Exception:  # incl. DatabaseError: one at a time, each fails (or retries) alone
        logger.warning("a batch of %d records falls back to one by one", len(ids), exc_info=True)
        return ids, []
    return [], records


def _start_attempts(ids: Sequence[int]) -> list[int]:
    """Count one more attempt on each waiting record, in a transaction of its own, before
    any processing (an attempt that kills the worker is rolled back, its count is not).
    A record whose attempts are used up ends ``failed`` here. Return the ids to process."""
    limit = settings.SUPPORTDESK_INBOUND_MAX_ATTEMPTS
    with transaction.atomic():
        rows = {
            pk: (attempts, error)
            for pk, attempts, error in InboundRecord.objects.select_for_update()
            .filter(pk__in=ids, status=InboundStatus.RECEIVED)
            .order_by("pk")
            .values_list("pk", "attempts", "error")
        }
        go = [pk for pk, (attempts, _) in rows.items() if attempts < limit]
        if go:
            InboundRecord.objects.filter(pk__in=go).update(
                attempts=F("attempts") + 1, last_attempt_at=timezone.now()
            )
        for pk, (attempts, error) in rows.items():
            if attempts >= limit:
                InboundRecord.objects.filter(pk=pk).update(
                    status=InboundStatus.FAILED, error=_gave_up(limit, error)
                )
    return go


def _gave_up(limit: int, error: str) -> str:
    if error.startswith(RETRY_PREFIX):  # the last attempt met a transient error
        detail = error.removeprefix(RETRY_PREFIX)
        return f"Gave up after {limit} attempts; the last one ended with: {detail}"
    return (
        f"Processing was started {limit} times and never finished: the worker crashed or "
        "was stopped each time (see the worker's log). Process it again once the cause "
        "is fixed."
    )


def _process_batch(records: list[InboundRecord]) -> None:
    by_channel: dict[str, list[InboundRecord]] = {}
    for record in records:
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
    _announce_intake(records)


def _announce_intake(records: Sequence[InboundRecord]) -> None:
    """Tell the receivers of ``intake_stored`` (inside the transaction) which tickets the
    records gave a customer message: the SLA deadlines are stored in this same commit."""
    messages = [
        r.message
        for r in records
        if isinstance(r.message, Message) and r.message.direction != Direction.INTERNAL
    ]
    if messages:
        ticket_ids = sorted({m.ticket_id for m in messages})
        intake_stored.send(sender=InboundRecord, ticket_ids=ticket_ids, messages=messages)


def _save_outcomes(records: list[InboundRecord]) -> None:
    """Write each record's outcome: on PostgreSQL one ``UPDATE … FROM (VALUES …)`` for the
    batch (one statement to parse and plan, where a prepared UPDATE run per row was 200);
    elsewhere that UPDATE run for all rows (the ORM's bulk_update builds a CASE per field
    and row, which cost more than the mails here)."""
    if not records:
        return
    meta = InboundRecord._meta
    fields = [cast(Field, meta.get_field(name)) for name in _OUTCOME_FIELDS]  # all columns
    table, pk = connection.ops.quote_name(meta.db_table), _quoted_column(meta.pk)
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: see _insert_or_ignore
    rows = [
        [f.get_db_prep_save(getattr(r, f.attname), db) for f in fields] + [r.pk] for r in records
    ]
    if connection.vendor == "postgresql":
        # VALUES guesses a column's type from its values (text for NULLs): cast to the field's.
        columns = [_quoted_column(f) for f in fields]
        assignments = ", ".join(
            f"{c} = v.{c}::{f.cast_db_type(connection)}"
            for c, f in zip(columns, fields, strict=True)
        )
        values = ", ".join(["(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"] * len(rows))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) "  # noqa: S608 - names
                f"AS v({', '.join(columns)}, {pk}) WHERE {table}.{pk} = v.{pk}",  # from _meta
                [value for row in rows for value in row],
            )
        return
    assignments = ", ".join(f"{_quoted_column(f)} = %s" for f in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608 - names from _meta
    with connection.cursor() as cursor:
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
    record.error = _text(error)
    record.processed_at = timezone.now() if status in DONE else None


def inbound_process(record_id: int) -> InboundRecord:
    """Turn a stored record into a timeline message; safe to run any number of times.

    Only a ``received`` record is processed. Its attempt is counted first, in its own
    transaction; after ``SUPPORTDESK_INBOUND_MAX_ATTEMPTS`` it ends ``failed`` instead. A
    transient error (see ``transient.py``) raises InboundTransient and leaves the record
    waiting for the task's retry; any other error ends it ``failed`` with the reason.
    """
    with _retry_if_transient([record_id]):
        _start_attempts([record_id])
    with announcements_batched():  # its events as one list, after the intake's last hook
        return _process_alone(record_id)


@contextmanager
def _retry_if_transient(record_ids: Sequence[int]) -> Iterator[None]:
    """Turn a transient error of the block into InboundTransient for ``record_ids``."""
    try:
        yield
    except InboundTransient:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise InboundTransient(record_ids) from exc
        raise


def _process_alone(record_id: int) -> InboundRecord:
    try:
        with transaction.atomic():
            record = InboundRecord.objects.select_for_update().get(pk=record_id)
            if record.status != InboundStatus.RECEIVED:
                return record  # done meanwhile, or out of attempts
            _apply(record, _outcome_of(processor_for(record.channel), record))
            record.save(update_fields=_OUTCOME_FIELDS)
            _announce_intake([record])
            return record
    except Exception as exc:  # the whole attempt is rolled back: nothing half-written
        detail = _text("".join(traceback.format_exception_only(exc)).strip())
        if is_transient(exc):
            logger.warning("inbound record %s: transient error: %s", record_id, detail)
            _settle(record_id, InboundStatus.RECEIVED, f"{RETRY_PREFIX}{detail}")
            raise InboundTransient([record_id]) from exc
        logger.exception("inbound record %s failed", record_id)
        return _settle(record_id, InboundStatus.FAILED, f"Unexpected error: {detail}")


def _settle(record_id: int, status: str, error: str) -> InboundRecord:
    """Write a still-waiting record's status and error after its attempt was rolled back
    (best effort when the database is what failed); return the record as stored."""
    try:
        InboundRecord.objects.filter(pk=record_id, status=InboundStatus.RECEIVED).update(
            status=status, error=error
        )
        return InboundRecord.objects.get(pk=record_id)
    except Exception as exc:
        if status == InboundStatus.FAILED and not is_transient(exc):
            raise
        raise InboundTransient([record_id]) from exc


def inbound_retry(record: InboundRecord) -> InboundRecord:
    """Put a failed or ignored record back in the queue (an agent's "process again")."""
    with transaction.atomic():
        locked = InboundRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status == InboundStatus.PROCESSED:
            return locked
        locked.status = InboundStatus.RECEIVED
        locked.error = ""
        locked.attempts = 0  # an agent asked for it: a fresh budget of attempts
        locked.save(update_fields=["status", "error", "attempts"])
        inbound_enqueue(locked.pk)
    return locked


def inbound_requeue_stale(*, older_than: timedelta | None = None) -> int:
    """Queue again every record still waiting after ``older_than``; return how many.

    Covers queue entries that were lost (a broker outage or restart, a worker that died
    holding its task) and records queued while the broker was down. No cap: the whole
    backlog is queued, in tasks of ``SUPPORTDESK_INBOUND_BATCH``, read in chunks. An
    entry that was not lost is processed once anyway: the duplicate finds it done.
    """
    age = older_than if older_than is not None else _requeue_after()
    cutoff = timezone.now() - age
    waiting = InboundRecord.objects.filter(status=InboundStatus.RECEIVED, received_at__lte=cutoff)
    total, after = 0, 0
    while True:
        ids = list(
            waiting.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:REQUEUE_CHUNK]
        )
        if not ids:
            return total
        _send_many(_chunks(ids))  # now, not on commit: nothing here is written
        total, after = total + len(ids), ids[-1]


def _requeue_after() -> timedelta:
    return timedelta(seconds=settings.SUPPORTDESK_REQUEUE_AFTER_SECONDS)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    size = max(1, settings.SUPPORTDESK_INBOUND_BATCH)
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _text(value: str) -> str:
    """Return ``value`` without NUL characters, which PostgreSQL text refuses."""
    return value.replace("\x00", "")


def _digest(raw: bytes | None, payload: dict[str, Any] | None) -> str:
    if raw is not None:
        return hashlib.sha256(raw).hexdigest()
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _quoted_column(field: Field | None) -> str:
    """Return the quoted column of a concrete field (every field named here has one)."""
    assert field is not None and field.column is not None
    return connection.ops.quote_name(field.column)
