"""Send stored mails: claim a task's batch, send each, record each outcome; re-queue what
waits.

The mails are claimed by one conditional UPDATE (``pending`` → ``sending`` with a token
and a lease), so a task delivered twice, or two workers given the same id, send it once;
what a task that stops early never tried is handed back at once.
The lease outlives the task's time limit: a claim older than it belongs to a worker
that died, and ``mails_requeue`` hands the mail back. (A worker killed between the mail
server's "250 OK" and our commit leaves a mail that is sent again: SMTP cannot be
part of our transaction. The Message-ID stays the same, so mail clients show one.)
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper
from django.db.models import F, Field, Q
from django.utils import timezone

from supportdesk.sql import aware, ids_test

from .delivery_errors import DeliveryError, classify
from .models import MailStatus, OutgoingAttachment, OutgoingMail
from .services import mails_dispatch

logger = logging.getLogger(__name__)
ERASED = "(erased after sending: it held a sign-in link)"


def mails_send(mail_ids: Sequence[int]) -> Counter[str]:
    """Send the due mails among ``mail_ids`` through one connection; return how many
    ended in each status (``retry`` for those queued again with backoff)."""
    outcome: Counter[str] = Counter()
    retries: dict[int, list[int]] = defaultdict(list)
    connection = None
    down: DeliveryError | None = None  # the server could not be reached: skip the rest
    ids = sorted(set(mail_ids))
    claimed = _claim(ids)
    if skipped := len(ids) - len(claimed):  # sent, failed, not due, or another worker has it
        outcome["skipped"] = skipped
    if not claimed:
        return outcome
    untouched = {mail.pk for mail in claimed}
    # One cursor writes every outcome (each still its own statement, as it happens).
    cursor = connections[DEFAULT_DB_ALIAS].cursor()
    try:
        for mail in claimed:
            untouched.discard(mail.pk)
            if mail.expires_at is not None and timezone.now() >= mail.expires_at:
                _finish(cursor, mail, MailStatus.FAILED, error="expired before it could be sent")
                outcome[MailStatus.FAILED] += 1
                continue
            if down is not None:  # each would wait for the same timeout: retry them later
                outcome[_failed(cursor, mail, down, retries)] += 1
                continue
            try:
                if connection is None:
                    connection = get_connection()
                    connection.open()
                _deliver(cursor, mail, connection)
            except SoftTimeLimitExceeded:
                timed_out = DeliveryError(True, "the send task ran out of time")
                _failed(cursor, mail, timed_out, retries)
                raise
            except Exception as exc:  # classified: temporary ones retry, the rest fail
                error = classify(exc)
                logger.warning("outgoing mail %s not sent: %s", mail.pk, error.reason)
                outcome[_failed(cursor, mail, error, retries)] += 1
                if error.transient and connection is not None:
                    _drop(connection)  # a fresh connection for the next mail
                    connection = None
                if error.transient and _unreachable(exc):
                    down = DeliveryError(
                        True, f"not tried, the server was unreachable: {error.reason}"
                    )
            else:
                outcome[MailStatus.SENT] += 1
    finally:
        cursor.close()
        if connection is not None:
            _drop(connection)
        if untouched:  # the task stopped early (time limit, database): hand the rest back
            _release(claimed[0].claim, untouched)
        for delay, retry in retries.items():
            mails_dispatch(retry, countdown=delay)
    return outcome


def _unreachable(exc: BaseException) -> bool:
    """Return whether ``exc`` says the mail server (or ESP) could not be reached at all,
    rather than that it refused this one mail."""
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


@dataclass(slots=True)
class ClaimedMail:
    """A claimed mail as the send loop needs it, read by the claim's own UPDATE."""

    pk: int
    claim: str
    message_id: str
    from_email: str
    to: list[str]
    cc: list[str]
    reply_to: list[str]
    subject: str
    body_text: str
    body_html: str
    headers: dict[str, str]
    sensitive: bool
    attempts: int
    created_at: datetime
    expires_at: datetime | None
    # (filename, content, content type) in id order; read only for mails that have files.
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


# What the claim returns, in ClaimedMail's order after pk and claim.
CLAIMED_FIELDS = (
    "message_id", "from_email", "to", "cc", "reply_to", "subject", "body_text", "body_html",
    "headers", "sensitive", "attempts", "created_at", "expires_at",
)  # fmt: skip
JSON_FIELDS = frozenset({"to", "cc", "reply_to", "headers"})


def _claim(mail_ids: list[int]) -> list[ClaimedMail]:
    """Claim the due mails among ``mail_ids`` with one token; return them in id order.

    One statement claims and returns the rows (and whether each has files); a second
    reads the files, only when one has any. Each outcome is still written as it happens.
    (Reading the claimed rows back as model instances with their prefetched attachments
    was ~45% of the send task's CPU.)
    """
    if not mail_ids:
        return []
    now = timezone.now()
    token = uuid.uuid4().hex
    db = connections[DEFAULT_DB_ALIAS]
    ops = db.ops
    test, ids = ids_test(mail_ids, db.vendor)
    lease = timedelta(seconds=settings.SUPPORTDESK_OUTBOX_LEASE_SECONDS)
    with db.cursor() as cursor:
        cursor.execute(
            _claim_sql().format(ids=test),
            [
                MailStatus.SENDING.value,
                token,
                ops.adapt_datetimefield_value(now + lease),
                ops.adapt_datetimefield_value(now),
                *ids,
                MailStatus.PENDING.value,
                ops.adapt_datetimefield_value(now + timedelta(seconds=1)),
            ],
        )
        rows = sorted(cursor.fetchall())
    claimed = []
    with_files = []
    for pk, *values, has_files in rows:
        fields = dict(zip(CLAIMED_FIELDS, values, strict=True))
        for name in JSON_FIELDS:
            if isinstance(fields[name], str | bytes):
                fields[name] = json.loads(fields[name])
        fields["sensitive"] = bool(fields["sensitive"])
        fields["created_at"] = aware(fields["created_at"])
        fields["expires_at"] = aware(fields["expires_at"])
        mail = ClaimedMail(pk=pk, claim=token, **fields)
        claimed.append(mail)
        if has_files:
            with_files.append(mail)
    if with_files:
        by_pk = {mail.pk: mail for mail in with_files}
        for item in OutgoingAttachment.objects.filter(mail_id__in=by_pk).order_by("pk"):
            by_pk[item.mail_id].attachments.append(
                (item.filename, bytes(item.content), item.content_type)
            )
    return claimed


@cache
def _claim_sql() -> str:
    """The claim's ``UPDATE … RETURNING`` (``{ids}``: the test of the mail ids), with the
    names from the model, built once a process."""
    meta = OutgoingMail._meta
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    table = quote(meta.db_table)

    def column(name: str) -> str:
        return quote(str(cast(Field, meta.get_field(name)).column))

    files = OutgoingAttachment._meta
    mail_fk = quote(str(cast(Field, files.get_field("mail")).column))
    returned = ", ".join(column(name) for name in ("id", *CLAIMED_FIELDS))
    attempts = column("attempts")
    return (
        f"UPDATE {table} SET {column('status')} = %s, {column('claim')} = %s, "  # noqa: S608 - names from _meta
        f"{column('claimed_until')} = %s, {attempts} = {attempts} + 1, "
        f"{column('last_attempt_at')} = %s "
        f"WHERE {column('id')} {{ids}} AND {column('status')} = %s "
        f"AND {column('next_attempt_at')} <= %s "
        f"RETURNING {returned}, EXISTS (SELECT 1 FROM {quote(files.db_table)} a "
        f"WHERE a.{mail_fk} = {table}.{column('id')})"
    )


def _release(token: str, mail_ids: set[int]) -> None:
    """Hand back claimed mails this task never tried: pending again, attempt not counted
    (best effort: if the database is what failed, the lease hands them back later)."""
    try:
        OutgoingMail.objects.filter(pk__in=mail_ids, claim=token).update(
            status=MailStatus.PENDING,
            claim="",
            claimed_until=None,
            attempts=F("attempts") - 1,
        )
    except Exception:
        logger.exception("could not hand back %d claimed mails; their lease will", len(mail_ids))


def _deliver(cursor: CursorWrapper, mail: ClaimedMail, connection) -> None:
    message = email_message(mail, connection)
    if message.send() != 1:
        raise ConnectionError("the mail backend accepted nothing")
    status = getattr(message, "anymail_status", None)
    provider_id = str(getattr(status, "message_id", "") or "")
    _finish(cursor, mail, MailStatus.SENT, provider_id=provider_id)


def email_message(mail: ClaimedMail, connection=None) -> EmailMultiAlternatives:
    """Return the Django mail for a stored row (the same bytes on every attempt)."""
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=mail.from_email,
        to=list(mail.to),
        cc=list(mail.cc),
        reply_to=list(mail.reply_to),
        headers={**mail.headers, "Message-ID": f"<{mail.message_id}>"},
        connection=connection,
    )
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    for filename, content, content_type in mail.attachments:
        message.attach(filename, content, content_type)
    return message


def _failed(
    cursor: CursorWrapper, mail: ClaimedMail, error: DeliveryError, retries: dict[int, list[int]]
) -> str:
    """Record a failed attempt: a temporary one waits and is queued again, unless the mail
    is older than SUPPORTDESK_OUTBOX_GIVE_UP_HOURS; a final one ends ``failed``."""
    now = timezone.now()
    if not error.transient:
        _finish(cursor, mail, MailStatus.FAILED, error=error.reason)
        return MailStatus.FAILED
    give_up = timedelta(hours=settings.SUPPORTDESK_OUTBOX_GIVE_UP_HOURS)
    if now - mail.created_at >= give_up:
        hours = settings.SUPPORTDESK_OUTBOX_GIVE_UP_HOURS
        reason = f"gave up after {mail.attempts} attempts in {hours} h; last: {error.reason}"
        _finish(cursor, mail, MailStatus.FAILED, error=reason)
        return MailStatus.FAILED
    delay = retry_delay(mail.attempts)
    _finish(
        cursor,
        mail,
        MailStatus.PENDING,
        error=f"attempt {mail.attempts}: {error.reason} (next in {delay} s)",
        next_attempt_at=now + timedelta(seconds=delay),
    )
    retries[delay].append(mail.pk)
    return "retry"


def retry_delay(attempts: int) -> int:
    """Return the seconds to wait after ``attempts`` failed tries: doubling, capped."""
    base = settings.SUPPORTDESK_OUTBOX_RETRY_BASE_SECONDS
    return int(min(base * 2 ** max(attempts - 1, 0), settings.SUPPORTDESK_OUTBOX_RETRY_MAX_SECONDS))


def _finish(
    cursor: CursorWrapper,
    mail: ClaimedMail,
    status: str,
    *,
    error: str = "",
    provider_id: str = "",
    next_attempt_at: datetime | None = None,
) -> None:
    """Write the outcome, only if this worker still holds the claim."""
    fields: dict[str, object] = {"status": status, "error": error, "claim": ""}
    fields["claimed_until"] = None
    if status == MailStatus.SENT:
        fields |= {"sent_at": timezone.now(), "provider_message_id": provider_id[:255]}
        if mail.sensitive:
            fields |= {"body_text": ERASED, "body_html": ""}
    if next_attempt_at is not None:
        fields["next_attempt_at"] = next_attempt_at
    # Text and NULL go as they are; only the times need the database's form (what
    # get_db_prep_save did, at a fraction of its cost a field).
    adapt = cursor.db.ops.adapt_datetimefield_value
    values: list[Any] = [adapt(v) if isinstance(v, datetime) else v for v in fields.values()]
    params = [*values, mail.pk, mail.claim]
    sql = _finish_sql(tuple(fields))
    name = _prepared(cursor.db, sql)
    if name is None:
        cursor.execute(sql, params)
    else:
        cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)


def _prepared(db: Any, sql: str) -> str | None:
    """Return the name of ``sql`` prepared on ``db``'s connection (PREPARE the first time
    a connection runs it), or None where statements are not prepared (SQLite, or
    ``DB_PREPARED_STATEMENTS`` off behind a pooler in transaction mode).

    The outcome runs once a mail, and PostgreSQL spent about as long planning it as
    running it (~0.04 ms each). psycopg2 binds values on the client, so this prepares in
    SQL; the values of ``EXECUTE`` are still quoted by psycopg2. (``workspace.prepared``
    does the same for the workspace; the outbox may not import it.)"""
    if db.vendor != "postgresql" or not getattr(settings, "DB_PREPARED_STATEMENTS", False):
        return None
    state = getattr(db, "_outbox_prepared", None)
    if state is None or state[0] is not db.connection:  # a new connection has none
        state = (db.connection, {})
        db._outbox_prepared = state
    names: dict[str, str] = state[1]
    if (name := names.get(sql)) is None:
        name = f"outbox_finish_{len(names)}"
        count = iter(range(1, 100))
        body = re.sub(r"%s", lambda _match: f"${next(count)}", sql)
        with db.connection.cursor() as raw:  # not in the query log: a connection's setup
            raw.execute(f"PREPARE {name} AS {body}")
        names[sql] = name
    return name


@cache
def _finish_sql(names: tuple[str, ...]) -> str:
    """The outcome's ``UPDATE … WHERE id = %s AND claim = %s`` for these fields, built
    once a process: the ORM's filter() and update() built it for every
    mail, ~0.3 ms of the worker's CPU each (more than handing the mail to a relay)."""
    meta = OutgoingMail._meta
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns: list[Any] = [meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    claim = quote(str(cast(Field, meta.get_field("claim")).column))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - names from _meta
        f"WHERE {quote(str(meta.pk.column))} = %s AND {claim} = %s"
    )
    return sql


def _drop(connection) -> None:
    try:
        connection.close()
    except Exception:  # the mails went out (or will be retried); a failing QUIT changes nothing
        logger.debug("closing the mail connection failed", exc_info=True)


def mails_requeue(*, grace_seconds: int | None = None, chunk: int = 500) -> int:
    """Queue again every mail that waits past its time; return how many.

    Covers a send task lost with the broker, a worker that died mid-send (its claim's
    lease ran out), and retries whose delayed task went missing. All of them, in chunks:
    no cap leaves a backlog for the next run.
    """
    grace = (
        settings.SUPPORTDESK_OUTBOX_REQUEUE_AFTER_SECONDS
        if grace_seconds is None
        else grace_seconds
    )
    now = timezone.now()
    stale = OutgoingMail.objects.filter(status=MailStatus.SENDING, claimed_until__lt=now)
    dead = list(stale.values_list("pk", flat=True))
    stale.filter(pk__in=dead).update(
        status=MailStatus.PENDING,
        claim="",
        claimed_until=None,
        next_attempt_at=now,
        error="the worker sending it stopped; sending again",
    )
    due = OutgoingMail.objects.filter(
        Q(next_attempt_at__lte=now - timedelta(seconds=grace)) | Q(pk__in=dead),
        status=MailStatus.PENDING,
    ).order_by("pk")
    total, last = 0, 0
    while ids := list(due.filter(pk__gt=last).values_list("pk", flat=True)[:chunk]):
        mails_dispatch(ids)
        total += len(ids)
        last = ids[-1]
    return total
