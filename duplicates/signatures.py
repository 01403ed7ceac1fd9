"""Detection's database side: file a ticket's signature and retrieval keys, and read the
signatures of its candidates.

Detection runs on every new ticket, so a ticket seen for the first time costs five
statements: the ticket with its stored signature, its messages, its keys, its signature,
and one candidate lookup that returns the candidates' signatures. ``detect_many`` (an
ingest batch's new tickets) reads the rows and files the keys and signatures of all its
tickets with a statement each: two statements a ticket remain, its messages and its lookup.
They are written in SQL that PostgreSQL and SQLite both run: building them with the ORM
cost ~1.5 ms of Python each, more than the database took (bench/README.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets.models import (
    ContactEmail,
    ContactPhone,
    Direction,
    Message,
    Status,
    Ticket,
    format_reference,
)

from . import minhash
from .features import VERSION, Features, build_features, global_keys, retrieval_keys
from .models import DuplicateBand, TicketSignature

MAX_CANDIDATES = 200  # keys of one account rarely match more; bounds the worst case
MAX_MESSAGES = 20
MAX_TEXT = 20_000
STORE_CHUNK = 2000  # key rows per insert when filing many signatures (5 parameters each)
NOT_CANDIDATES = (Status.MERGED, Status.CLOSED)

_TICKET = Ticket._meta.db_table
_MESSAGE = Message._meta.db_table
_BAND = DuplicateBand._meta.db_table
_SIGNATURE = TicketSignature._meta.db_table
_EMAIL = ContactEmail._meta.db_table
_PHONE = ContactPhone._meta.db_table
# The signature columns scoring reads (``compare`` does not use the MinHash: the LSH
# bands already did its work).
_EVIDENCE = (
    "s.text_hash, s.tokens, s.subject_tokens, s.identifiers, s.occurred_at, s.contact_id, "
    "s.account_id, s.language, s.version, s.marks"
)


@dataclass(frozen=True)
class TicketRow:
    """The columns of a ticket detection needs, and what its stored signature says."""

    pk: int
    number: int
    status: str
    created_at: datetime
    contact_id: int | None
    account_id: int | None
    subject: str
    origin_channel: str
    # (text_hash, tokens, identifiers, contact, account, version, marks)
    filed: tuple[object, ...] | None


@dataclass(frozen=True)
class Candidate:
    """An earlier ticket that shares a retrieval key or the contact, with its evidence."""

    ticket_id: int
    reference: str
    features: Features


_ROW_SQL = (
    "SELECT t.id, t.number, t.status, t.created_at, t.contact_id, t.account_id, "  # noqa: S608 - names from _meta
    "t.subject, t.origin_channel, s.text_hash, s.tokens, s.identifiers, s.contact_id, "
    f"s.account_id, s.version, s.marks FROM {_TICKET} t "
    f"LEFT JOIN {_SIGNATURE} s ON s.ticket_id = t.id "
)


def ticket_row(ticket_id: int) -> TicketRow | None:
    """Return the ticket's row with its stored signature, or None."""
    with connection.cursor() as cursor:
        cursor.execute(f"{_ROW_SQL}WHERE t.id = %s", [ticket_id])
        row = cursor.fetchone()
    return None if row is None else _ticket_row(row)


def ticket_rows(ticket_ids: list[int]) -> dict[int, TicketRow]:
    """``ticket_row`` for many tickets, in one statement; the ones gone are left out."""
    if not ticket_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_ROW_SQL}WHERE t.id IN ({', '.join(['%s'] * len(ticket_ids))})", list(ticket_ids)
        )
        return {r[0]: _ticket_row(r) for r in cursor.fetchall()}


def _ticket_row(row: tuple[Any, ...]) -> TicketRow:
    filed: tuple[object, ...] | None = None
    if row[8] is not None:
        filed = (row[8], _json(row[9]), _json(row[10]), row[11], row[12], row[13])
        filed += (sorted(_json(row[14]) or ()),)
    pk, number, status, _, contact_id, account_id, subject, channel = row[:8]
    return TicketRow(
        pk, number, status, _aware(row[3]), contact_id, account_id, subject, channel, filed
    )


def signature_store(row: TicketRow) -> Features:
    """Compute the ticket's features and (re)file its signature and retrieval keys."""
    features = ticket_features(row)
    identifiers = {k: sorted(v) for k, v in features.identifiers.items()}
    current = (
        features.text_hash,
        list(features.tokens),
        identifiers,
        features.contact_id,
        features.account_id,
        VERSION,
        sorted(features.marks),
    )
    if row.filed == current:
        return features  # nothing changed since the last run: keys are filed
    keys = set(retrieval_keys(features))
    adapt = connection.ops.adapt_datetimefield_value
    # No transaction, two round trips fewer: keys go first and the signature last, so a
    # run cut off in between leaves a missing or stale signature, and the next run (or a
    # lookup that meets a ticket without one, see ``candidates``) files it again.
    with connection.cursor() as cursor:
        filed: set[int] = set()
        if row.filed is not None:
            filed = set(
                DuplicateBand.objects.filter(ticket_id=row.pk).values_list("band_key", flat=True)
            )
            if filed - keys:
                DuplicateBand.objects.filter(ticket_id=row.pk, band_key__in=filed - keys).delete()
        if new := sorted(keys - filed):
            created = adapt(row.created_at)
            cursor.execute(
                f"INSERT INTO {_BAND} (band_key, ticket_id, contact_id, account_id, created_at) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(new))} "
                "ON CONFLICT (ticket_id, band_key) DO NOTHING",
                [v for key in new for v in (key, row.pk, row.contact_id, row.account_id, created)],
            )
        # One statement whether the signature is new or refreshed (a concurrent run too).
        cursor.execute(_signature_sql(1), _signature_params(row, features))
    return features


def signatures_store(rows: list[TicketRow]) -> dict[int, Features]:
    """``signature_store`` for many tickets: those filed for the first time (new tickets,
    most of an ingest batch) share one insert of their keys and one of their signatures;
    the others (keys to compare and delete) go one by one. Return each one's features."""
    out: dict[int, Features] = {}
    fresh: list[tuple[TicketRow, Features]] = []
    for row in rows:
        if row.filed is None:
            fresh.append((row, ticket_features(row)))
        else:
            out[row.pk] = signature_store(row)
    adapt = connection.ops.adapt_datetimefield_value
    bands = [
        (key, row.pk, row.contact_id, row.account_id, adapt(row.created_at))
        for row, features in fresh
        for key in sorted(set(retrieval_keys(features)))
    ]
    with connection.cursor() as cursor:  # keys first, signatures last: as signature_store
        for start in range(0, len(bands), STORE_CHUNK):
            chunk = bands[start : start + STORE_CHUNK]
            cursor.execute(
                f"INSERT INTO {_BAND} (band_key, ticket_id, contact_id, account_id, created_at) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(chunk))} "
                "ON CONFLICT (ticket_id, band_key) DO NOTHING",
                [v for band in chunk for v in band],
            )
        for start in range(0, len(fresh), STORE_CHUNK // 20):
            part = fresh[start : start + STORE_CHUNK // 20]
            params = [v for row, features in part for v in _signature_params(row, features)]
            cursor.execute(_signature_sql(len(part)), params)
    out.update((row.pk, features) for row, features in fresh)
    return out


_SIGNATURE_COLUMNS: tuple[str, ...] = ("contact_id", "account_id", "occurred_at", "text_hash")
_SIGNATURE_COLUMNS += ("tokens",)
_SIGNATURE_COLUMNS += ("subject_tokens", "identifiers", "minhash", "language", "version")
_SIGNATURE_COLUMNS += ("marks", "updated_at")


def _signature_sql(count: int) -> str:
    """Insert or refresh ``count`` signatures (a concurrent run's too) in one statement."""
    row = f"(%s{', %s' * len(_SIGNATURE_COLUMNS)})"
    return (
        f"INSERT INTO {_SIGNATURE} (ticket_id, {', '.join(_SIGNATURE_COLUMNS)}) "  # noqa: S608
        f"VALUES {', '.join([row] * count)} ON CONFLICT (ticket_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in _SIGNATURE_COLUMNS)
    )


def _signature_params(row: TicketRow, features: Features) -> list[Any]:
    adapt = connection.ops.adapt_datetimefield_value
    return [
        row.pk,
        features.contact_id,
        features.account_id,
        adapt(features.occurred_at),
        features.text_hash,
        json.dumps(list(features.tokens)),
        json.dumps(list(features.subject_tokens)),
        json.dumps({k: sorted(v) for k, v in features.identifiers.items()}),
        minhash.pack(features.minhash),
        features.language,
        VERSION,
        json.dumps(sorted(features.marks)),
        adapt(timezone.now()),
    ]


def ticket_features(row: TicketRow) -> Features:
    """Return the features of the ticket's own customer messages (not merged-in ones).

    One statement: the messages, then the contact's addresses and numbers (its tickets meet
    those of another contact record with one of them, and its company domain its
    colleagues').
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 0, m.id, m.body_text, m.occurred_at FROM (SELECT id, body_text, "  # noqa: S608
            f"occurred_at FROM {_MESSAGE} WHERE ticket_id = %s AND direction = %s "
            "AND merged_from_id IS NULL ORDER BY occurred_at, id LIMIT %s) m "
            f"UNION ALL SELECT 1, 0, email, NULL FROM {_EMAIL} WHERE contact_id = %s "
            f"UNION ALL SELECT 1, 0, number, NULL FROM {_PHONE} WHERE contact_id = %s",
            [row.pk, Direction.INBOUND.value, MAX_MESSAGES, row.contact_id, row.contact_id],
        )
        rows = cursor.fetchall()
    identities = tuple(value for kind, _, value, _ in rows if kind == 1)
    ordered = sorted(
        ((_aware(when), pk, text) for kind, pk, text, when in rows if kind == 0),
        key=lambda m: (m[0], m[1]),
    )
    messages = [(text, when) for when, _, text in ordered]
    body = "\n\n".join(text for text, _ in messages)[:MAX_TEXT]
    return build_features(
        subject=row.subject,
        body=body,
        channel=row.origin_channel,
        occurred_at=_aware(messages[0][1]) if messages else row.created_at,
        contact_id=row.contact_id,
        account_id=row.account_id,
        ticket_prefix=settings.SUPPORTDESK_TICKET_PREFIX,
        identities=identities,
        services=settings.DUPLICATES_SERVICES,
    )


def candidates(row: TicketRow, features: Features) -> list[Candidate]:
    """Return the live, older tickets that may be the same problem.

    One indexed query whatever the table sizes: the ids come from the key index (the
    account's bands and identifiers in the window; other accounts' tickets naming the same
    domain, URL, address or error code, or the same person's other contact records, in the
    shorter global window) UNION the contact's and the account's tickets in the window,
    whoever opened them; their signatures are joined in. Candidates whose signature is
    missing or older than ``features.VERSION`` get it filed here.
    """
    keys = retrieval_keys(features)
    if not keys:
        return []  # no contact and no account: nothing to compare with
    everywhere = set(global_keys(features))
    scoped = [key for key in keys if key not in everywhere]
    adapt = connection.ops.adapt_datetimefield_value
    window = [
        adapt(row.created_at - timedelta(days=settings.DUPLICATES_WINDOW_DAYS)),
        adapt(row.created_at),
    ]
    parts = [
        f"SELECT ticket_id FROM {_BAND} WHERE band_key IN ({', '.join(['%s'] * len(scoped))}) "  # noqa: S608
        "AND created_at >= %s AND created_at <= %s"
    ]
    params: list[Any] = [*scoped, *window]
    if everywhere:
        since = row.created_at - timedelta(hours=settings.DUPLICATES_GLOBAL_WINDOW_HOURS)
        # The most recent first and bounded: a popular code must not crowd out the rest.
        parts.append(
            f"SELECT ticket_id FROM (SELECT ticket_id FROM {_BAND} WHERE band_key IN "  # noqa: S608
            f"({', '.join(['%s'] * len(everywhere))}) AND created_at >= %s AND created_at <= %s "
            f"ORDER BY created_at DESC LIMIT {MAX_CANDIDATES // 2}) g"
        )
        params += [*sorted(everywhere), adapt(since), adapt(row.created_at)]
    for column, value in (("contact_id", row.contact_id), ("account_id", row.account_id)):
        if value is not None:
            parts.append(
                f"SELECT id FROM (SELECT id FROM {_TICKET} WHERE {column} = %s "  # noqa: S608
                "AND created_at >= %s AND created_at <= %s "
                f"ORDER BY created_at DESC LIMIT {MAX_CANDIDATES // 2}) {column[0]}"
            )
            params += [value, *window]
    found = " UNION ".join(parts)
    limited = f"SELECT ticket_id FROM ({found}) found LIMIT {MAX_CANDIDATES + 1}"  # noqa: S608
    rows = _live(limited, params, row.pk)
    if missing := [r[0] for r in rows if r[3] is None or r[11] != VERSION]:
        for older in filter(None, map(ticket_row, missing)):
            signature_store(older)
        rows = [r for r in rows if r[3] is not None and r[11] == VERSION]
        rows += _live(", ".join(["%s"] * len(missing)), missing, row.pk)
    earlier = (row.created_at, row.pk)
    return [
        Candidate(ticket_id=r[0], reference=format_reference(r[1]), features=_features(r))
        for r in rows
        if r[3] is not None and (_aware(r[2]), r[0]) < earlier
    ]


# --- helpers ---------------------------------------------------------------------------


def _live(ids_sql: str, params: list[Any], exclude: int) -> list[tuple[Any, ...]]:
    """Return (id, number, created_at, evidence…) of the tickets in ``ids_sql`` that are
    not closed or merged; the evidence is NULL where no signature is filed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.number, t.created_at, {_EVIDENCE} FROM {_TICKET} t "  # noqa: S608
            f"LEFT JOIN {_SIGNATURE} s ON s.ticket_id = t.id WHERE t.id IN ({ids_sql}) "
            "AND t.id <> %s AND t.status NOT IN (%s, %s)",
            [*params, exclude, *(status.value for status in NOT_CANDIDATES)],
        )
        return cursor.fetchall()


def _features(row: tuple[Any, ...]) -> Features:
    text_hash, tokens, subject_tokens, identifiers, occurred_at, contact_id, account_id = row[3:10]
    return Features(
        tokens=tuple(_json(tokens)),
        subject_tokens=tuple(_json(subject_tokens)),
        identifiers={k: frozenset(v) for k, v in _json(identifiers).items()},
        text_hash=text_hash,
        minhash=(),
        occurred_at=_aware(occurred_at),
        contact_id=contact_id,
        account_id=account_id,
        language=row[10] or "en",
        marks=frozenset(_json(row[12]) or ()),
    )


def _json(value: Any) -> Any:
    # Django has psycopg2 hand jsonb over as text (JSONField decodes it); SQLite stores text.
    return json.loads(value) if isinstance(value, str | bytes) else value


def _aware(value: Any) -> Any:
    # PostgreSQL returns aware datetimes; SQLite naive UTC ones (or text for a NULL join).
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value
