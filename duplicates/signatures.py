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

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone

from supportdesk.sql import aware
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
from .features import (
    VERSION,
    Features,
    build_features,
    features_inputs,
    global_keys,
    retrieval_keys,
)
from .models import DuplicateBand, TicketSignature

# The newest this many are compared: each costs ~40 µs of scoring, and a contact or
# account with hundreds of open tickets made every one of its new tickets cost that many.
MAX_CANDIDATES = 100
MAX_MESSAGES = 20
MAX_TEXT = 20_000
LOOKUP_CHUNK = 50  # tickets per candidates statement (~60 parameters each)
EVIDENCE_CHUNK = 500  # candidates' evidence read a statement
STORE_CHUNK = 2000  # key rows per insert when filing many signatures (5 parameters each)
ARRAY_CHUNK = 20_000  # the same on PostgreSQL, where they go as five array parameters
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
# What a candidate lookup returns of each signature: whether one is filed and current,
# and its evidence's digest. The evidence is read apart, of the candidates this process
# has not decoded (``_evidence_of``): sent and decoded with every row it was a quarter of
# the lookup's database CPU and ~40% of its Python.
_STAMP = "s.version, s.evidence_stamp"


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
    # What the last detection that ran to its end read: ``Features.inputs`` then
    # ``material_hash`` ("" if none did).
    checked: str = ""


@dataclass(frozen=True)
class Candidate:
    """An earlier ticket that shares a retrieval key or the contact, with its evidence."""

    ticket_id: int
    reference: str
    features: Features


_ROW_SQL = (
    "SELECT t.id, t.number, t.status, t.created_at, t.contact_id, t.account_id, "  # noqa: S608 - names from _meta
    "t.subject, t.origin_channel, s.text_hash, s.tokens, s.identifiers, s.contact_id, "
    f"s.account_id, s.version, s.marks, s.checked FROM {_TICKET} t "
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
    when, checked = aware(row[3]), row[15] or ""
    return TicketRow(
        pk, number, status, when, contact_id, account_id, subject, channel, filed, checked
    )


def material_hash(features: Features) -> str:
    """A digest of what detection's lookup and scoring read of a ticket, but its text's
    hash: a reply that adds no word, identifier, mark or language to it ("thanks", "any
    news?", "the shop is still down") leaves it as it was.

    The text's hash is left out on purpose: every reply changes it, and all it adds to
    detection is an exact re-send, which would then be of the whole conversation."""
    material = [
        VERSION,
        features.contact_id,
        features.account_id,
        features.occurred_at.isoformat() if features.occurred_at else None,
        features.language,
        # Sets: scoring and the MinHash read the words, not their order or repeats.
        sorted(features.token_set),
        sorted(features.subject_set),
        sorted((k, sorted(v)) for k, v in features.identifiers.items()),
        sorted(features.marks),
    ]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:32]


def signatures_checked(done: dict[int, str]) -> None:
    """Record the ``material_hash`` each ticket's detection ran to its end with, in one
    statement: called after its flags are filed, so a run cut off before detects again."""
    if not done:
        return
    values = ", ".join(["(%s, %s)"] * len(done))
    with connection.cursor() as cursor:
        cursor.execute(
            # VALUES' own column names (column1, column2): SQLite takes no column list
            # after the alias, and both databases name them so.
            f"UPDATE {_SIGNATURE} SET checked = v.column2 FROM (VALUES {values}) AS v "  # noqa: S608 - names from _meta
            f"WHERE {_SIGNATURE}.ticket_id = v.column1",
            [x for item in sorted(done.items()) for x in item],
        )


def signature_store(row: TicketRow) -> Features:
    """Compute the ticket's features and (re)file its signature and retrieval keys."""
    return signatures_store([row])[row.pk]


def signatures_store(rows: list[TicketRow], *, skip_checked: bool = False) -> dict[int, Features]:
    """Compute the tickets' features and (re)file the signatures and retrieval keys that
    moved; return each one's features. A fixed number of statements for any number of
    tickets (an ingest batch's new tickets, and the young ones that heard again): their
    messages and addresses, the keys filed of those filed before, one insert of the new
    keys, one of the signatures; only a ticket whose text changed its keys deletes some.
    ``skip_checked``: as ``ticket_features_many``'s (those are left out: filed as they are)."""
    features = ticket_features_many(rows, skip_checked=skip_checked)
    rows = [row for row in rows if row.pk in features]
    moved = [(row, features[row.pk]) for row in rows if row.filed != _filed(features[row.pk])]
    filed: dict[int, set[int]] = {row.pk: set() for row, _ in moved}
    if again := [row.pk for row, _ in moved if row.filed is not None]:
        for ticket_id, key in DuplicateBand.objects.filter(ticket_id__in=again).values_list(
            "ticket_id", "band_key"
        ):
            filed[ticket_id].add(key)
    adapt = connection.ops.adapt_datetimefield_value
    bands: list[TicketKeys] = []
    for row, each in moved:
        keys = set(retrieval_keys(each))
        if stale := filed[row.pk] - keys:
            DuplicateBand.objects.filter(ticket_id=row.pk, band_key__in=stale).delete()
        if new := keys - filed[row.pk]:
            bands.append(
                (row.pk, row.contact_id, row.account_id, adapt(row.created_at), sorted(new))
            )
    # No transaction, two round trips fewer: keys go first and the signatures last, so a
    # run cut off in between leaves a missing or stale signature, and the next run (or a
    # lookup that meets a ticket without one, see ``candidates``) files it again.
    with connection.cursor() as cursor:
        step = ARRAY_CHUNK if connection.vendor == "postgresql" else STORE_CHUNK
        for run in _chunks(bands, step):
            _bands_insert(cursor, run)
        # One statement whether a signature is new or refreshed (a concurrent run too).
        for start in range(0, len(moved), STORE_CHUNK // 20):
            part = moved[start : start + STORE_CHUNK // 20]
            params = [v for row, each in part for v in _signature_params(row, each)]
            cursor.execute(_signature_sql(len(part)), params)
    return features


# One ticket's keys to file: (ticket_id, contact_id, account_id, created_at, keys).
TicketKeys = tuple[int, int | None, int | None, Any, Sequence[int]]


def _chunks(bands: list[TicketKeys], size: int) -> list[list[TicketKeys]]:
    """The tickets in runs of at most ``size`` keys (a ticket's keys stay together)."""
    out: list[list[TicketKeys]] = []
    count = 0
    for band in bands:
        if not out or (out[-1] and count + len(band[4]) > size):
            out.append([])
            count = 0
        out[-1].append(band)
        count += len(band[4])
    return out


_BAND_COLUMNS = "band_key, ticket_id, contact_id, account_id, created_at"
# PostgreSQL: each ticket's contact, account and time once (a ticket has ~20 keys), and
# all the keys in one array of which each ticket reads its slice; one text literal a
# parameter. Rows of ``VALUES (%s, …)`` were ~10,000 constants a statement for the
# server to parse and plan and for psycopg2 to quote one by one (bench/README.md,
# 2026-12-07 ingest-work); five arrays of a value a key still had it parse each
# ticket's time ~20 times (a fifth of the insert's server CPU, ingest-bands).
_BANDS_UNNEST = (
    f"INSERT INTO {_BAND} ({_BAND_COLUMNS}) "  # noqa: S608 - names from _meta
    "SELECT k.key, t.id, t.contact, t.account, t.created "
    "FROM (SELECT %s::bigint[] AS keys) p, "
    "unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[], %s::int[], %s::int[]) "
    "AS t(id, contact, account, created, lo, hi), unnest(p.keys[t.lo:t.hi]) AS k(key)"
)
_ON_CONFLICT = " ON CONFLICT (ticket_id, band_key) DO NOTHING"


def _bands_insert(cursor: Any, bands: list[TicketKeys]) -> None:
    """Insert each ticket's keys; the ones filed already (a concurrent run's, or a run's
    cut off before its signature was filed) are left as they are.

    On PostgreSQL, outside a transaction, a plain insert first: ``ON CONFLICT`` is a
    speculative insertion, a probe of the key's index and a token a row, ~30% of the
    insert's server CPU for a conflict that almost never is (bench/README.md,
    2026-12-07 night, ingest-bands). A statement that meets one is undone whole and
    goes again with it."""
    if connection.vendor == "postgresql":
        keys: list[int] = []
        bounds: list[int] = []
        for band in bands:
            bounds.append(len(keys) + 1)
            keys += band[4]
            bounds.append(len(keys))
        params = [
            _int_array(keys),
            _int_array([band[0] for band in bands]),
            _int_array([band[1] for band in bands]),
            _int_array([band[2] for band in bands]),
            _time_array([band[3] for band in bands]),
            _int_array(bounds[0::2]),
            _int_array(bounds[1::2]),
        ]
        if connection.in_atomic_block:
            # A failed statement would abort the caller's transaction, and a savepoint
            # is two statements more: detection's tasks file in autocommit.
            cursor.execute(_BANDS_UNNEST + _ON_CONFLICT, params)
            return
        try:
            cursor.execute(_BANDS_UNNEST, params)
        except IntegrityError:
            cursor.execute(_BANDS_UNNEST + _ON_CONFLICT, params)
        return
    rows = [(key, *band[:4]) for band in bands for key in band[4]]
    cursor.execute(
        f"INSERT INTO {_BAND} ({_BAND_COLUMNS}) "  # noqa: S608 - names from _meta
        f"VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(rows))}{_ON_CONFLICT}",
        [v for row in rows for v in row],
    )


def _int_array(values: Sequence[int | None]) -> str:
    """Return a PostgreSQL array literal of integers and NULLs."""
    if None not in values:  # keys and tickets: no NULL to spell, joined in C
        return "{" + ",".join(map(str, map(int, cast("Sequence[int]", values)))) + "}"
    return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"


def _time_array(values: Sequence[datetime]) -> str:
    """Return a PostgreSQL array literal of aware datetimes (isoformat: with their offset,
    which timestamptz reads)."""
    return "{" + ",".join([f'"{v.isoformat()}"' for v in values]) + "}"


def _filed(features: Features) -> tuple[object, ...]:
    """What ``TicketRow.filed`` says once these features are filed."""
    return (
        features.text_hash,
        list(features.tokens),
        {k: sorted(v) for k, v in features.identifiers.items()},
        features.contact_id,
        features.account_id,
        VERSION,
        sorted(features.marks),
    )


_SIGNATURE_COLUMNS: tuple[str, ...] = ("contact_id", "account_id", "occurred_at", "text_hash")
_SIGNATURE_COLUMNS += ("tokens",)
_SIGNATURE_COLUMNS += ("subject_tokens", "identifiers", "minhash", "language", "version")
_SIGNATURE_COLUMNS += ("marks", "updated_at", "evidence_stamp")


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
    params = [
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
    # In ``_EVIDENCE``'s order: text hash, tokens, subject, identifiers, time, contact,
    # account, language, version, marks.
    evidence = [*params[4:8], params[3], *params[1:3], *params[9:12]]
    return [*params, evidence_stamp(evidence)]


def ticket_features(row: TicketRow) -> Features:
    """Return the features of the ticket's own customer messages (not merged-in ones)."""
    return ticket_features_many([row])[row.pk]


def ticket_features_many(
    rows: list[TicketRow], *, skip_checked: bool = False
) -> dict[int, Features]:
    """Return the features of each ticket's own customer messages (not merged-in ones).
    ``skip_checked``: leave out the tickets whose last detection that ran to its end read
    the same (``TicketRow.checked``).

    One statement for any number of tickets: the first ``MAX_MESSAGES`` messages of each,
    and their contacts' addresses and numbers (its tickets meet those of another contact
    record with one of them, and its company domain its colleagues').
    """
    if not rows:
        return {}
    ids = [row.pk for row in rows]
    contacts = sorted({row.contact_id for row in rows if row.contact_id is not None})
    texts: dict[int, list[tuple[Any, int, str]]] = {pk: [] for pk in ids}
    identities: dict[int, list[str]] = {pk: [] for pk in contacts}
    sql = (
        "SELECT 0, ticket_id, id, body_text, occurred_at FROM (SELECT ticket_id, id, "  # noqa: S608
        "body_text, occurred_at, ROW_NUMBER() OVER (PARTITION BY ticket_id "
        f"ORDER BY occurred_at, id) AS n FROM {_MESSAGE} WHERE ticket_id IN "
        f"({', '.join(['%s'] * len(ids))}) AND direction = %s AND merged_from_id IS NULL) m "
        "WHERE n <= %s"
    )
    params: list[Any] = [*ids, Direction.INBOUND.value, MAX_MESSAGES]
    if contacts:
        marks = ", ".join(["%s"] * len(contacts))
        sql += (
            f" UNION ALL SELECT 1, contact_id, 0, email, NULL FROM {_EMAIL} "  # noqa: S608
            f"WHERE contact_id IN ({marks}) UNION ALL SELECT 2, contact_id, 0, number, NULL "
            f"FROM {_PHONE} WHERE contact_id IN ({marks})"
        )
        params += [*contacts, *contacts]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, owner, pk, text, when in cursor.fetchall():
            if kind == 0:
                texts[owner].append((aware(when), pk, text))
            else:
                identities[owner].append(text)
    out: dict[int, Features] = {}
    for row in rows:
        messages = [(text, when) for when, _, text in sorted(texts[row.pk], key=lambda m: m[:2])]
        body = "\n\n".join(text for text, _ in messages)[:MAX_TEXT]
        arguments: dict[str, Any] = {
            "subject": row.subject,
            "body": body,
            "channel": row.origin_channel,
            "occurred_at": aware(messages[0][1]) if messages else row.created_at,
            "contact_id": row.contact_id,
            "account_id": row.account_id,
            "ticket_prefix": settings.SUPPORTDESK_TICKET_PREFIX,
            "identities": tuple(identities.get(row.contact_id, ())) if row.contact_id else (),
            "services": settings.DUPLICATES_SERVICES,
        }
        stripped, inputs = features_inputs(**arguments)
        if skip_checked and row.checked[:32] == inputs:
            continue  # built from the same text as when last checked: the same features
        out[row.pk] = build_features(**arguments, stripped=stripped, inputs=inputs)
    return out


def candidates(row: TicketRow, features: Features) -> list[Candidate]:
    """Return the live, older tickets that may be the same problem.

    One indexed query whatever the table sizes: the ids come from the key index (the
    account's bands and identifiers in the window; other accounts' tickets naming the same
    domain, URL, address or error code, or the same person's other contact records, in the
    shorter global window) UNION the contact's and the account's tickets in the window,
    whoever opened them; their signatures are joined in. Candidates whose signature is
    missing or older than ``features.VERSION`` get it filed here.
    """
    lookup = _lookup(row, features)
    if lookup is None:
        return []  # no contact and no account: nothing to compare with
    rows = _live(*lookup, row.pk)
    if missing := [r[0] for r in rows if _unfiled(r)]:
        for older in filter(None, map(ticket_row, missing)):
            signature_store(older)
        rows = [r for r in rows if not _unfiled(r)]
        rows += _live(", ".join(["%s"] * len(missing)), missing, row.pk)
    return _earlier(row, rows, _evidence_of(rows))


def candidates_many(items: list[tuple[TicketRow, Features]]) -> dict[int, list[Candidate]] | None:
    """``candidates`` of many tickets, one statement per ``LOOKUP_CHUNK`` of them.

    None when a candidate's signature is missing or stale: filing it adds keys that the
    later tickets' lookups would meet one by one, so the caller then looks them up one by
    one (``candidates``), which keeps what each ticket finds the same as alone.
    """
    out: dict[int, list[Candidate]] = {row.pk: [] for row, _ in items}
    if connection.vendor == "postgresql":
        found = _found_lateral([(row, features) for row, features in items])
        if found is None:
            return None
        by_ticket = _by_source(found)
        evidence = _evidence_of([r[1:] for r in found])
        decoded: dict[int, Candidate] = {}  # each candidate built once a batch
        for row, _ in items:
            out[row.pk] = _earlier(row, by_ticket.get(row.pk, []), evidence, decoded)
        return out
    found = []
    lookups = [(row, lookup) for row, features in items if (lookup := _lookup(row, features))]
    for start in range(0, len(lookups), LOOKUP_CHUNK):
        chunk = lookups[start : start + LOOKUP_CHUNK]
        # Each ticket's ids tagged with the ticket (``src``), its own LIMIT kept.
        ids = " UNION ALL ".join(
            f"SELECT * FROM (SELECT %s AS src, ticket_id FROM ({sql}) l{i}) q{i}"  # noqa: S608
            for i, (_, (sql, _)) in enumerate(chunk)
        )
        params: list[Any] = [v for row, (_, values) in chunk for v in (row.pk, *values)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT q.src, t.id, t.number, t.created_at, {_STAMP} FROM ({ids}) q "  # noqa: S608 - names from _meta
                f"JOIN {_TICKET} t ON t.id = q.ticket_id "
                f"LEFT JOIN {_SIGNATURE} s ON s.ticket_id = t.id "
                "WHERE t.id <> q.src AND t.status NOT IN (%s, %s)",
                [*params, *(status.value for status in NOT_CANDIDATES)],
            )
            rows = cursor.fetchall()
        if any(_unfiled(r[1:]) for r in rows):
            return None
        found += rows
    by_ticket = _by_source(found)
    evidence = _evidence_of([r[1:] for r in found])
    decoded = {}
    for row, _ in lookups:
        out[row.pk] = _earlier(row, by_ticket.get(row.pk, []), evidence, decoded)
    return out


def _by_source(rows: Sequence[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    """Group candidate rows by the ticket that looked them up (their first column)."""
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for r in rows:
        grouped.setdefault(r[0], []).append(r[1:])
    return grouped


# PostgreSQL: every ticket's lookup (``_lookup``'s four parts, their limits kept) in one
# statement of a fixed text, the tickets' keys and windows as one JSON parameter. The
# UNION ALL of 50 lookups it replaces cost PostgreSQL ~70 ms to plan (3x its run time),
# about 0.7 ms of database CPU a mail.
_LATERAL = f"""
SELECT p.src, t.id, t.number, t.created_at, {_STAMP}
FROM jsonb_to_recordset(%s::jsonb) AS p(
    src bigint, scoped bigint[], everywhere bigint[], lo timestamptz, hi timestamptz,
    since timestamptz, contact bigint, account bigint)
CROSS JOIN LATERAL (
    SELECT ticket_id FROM (
        SELECT * FROM (
            SELECT DISTINCT ticket_id, created_at FROM {_BAND}
            WHERE band_key = ANY(p.scoped) AND created_at >= p.lo AND created_at <= p.hi
            ORDER BY created_at DESC LIMIT %s) b
        UNION SELECT * FROM (
            SELECT DISTINCT ticket_id, created_at FROM {_BAND}
            WHERE band_key = ANY(p.everywhere) AND created_at >= p.since AND created_at <= p.hi
            ORDER BY created_at DESC LIMIT %s) g
        UNION SELECT * FROM (
            SELECT id, created_at FROM {_TICKET}
            WHERE contact_id = p.contact AND created_at >= p.lo AND created_at <= p.hi
            ORDER BY created_at DESC LIMIT %s) c
        UNION SELECT * FROM (
            SELECT id, created_at FROM {_TICKET}
            WHERE account_id = p.account AND created_at >= p.lo AND created_at <= p.hi
            ORDER BY created_at DESC LIMIT %s) a
    ) found ORDER BY created_at DESC, ticket_id DESC LIMIT %s
) q
JOIN {_TICKET} t ON t.id = q.ticket_id
LEFT JOIN {_SIGNATURE} s ON s.ticket_id = t.id
WHERE t.id <> p.src AND t.status NOT IN (%s, %s)
"""  # noqa: S608 - names from _meta, values as parameters


def _found_lateral(items: list[tuple[TicketRow, Features]]) -> list[tuple[Any, ...]] | None:
    """Return (src, id, number, created_at, version, stamp) of every item's candidates, in one
    statement per ``LOOKUP_CHUNK * 4`` tickets; None when one's signature is unfiled."""
    specs = [spec for row, features in items if (spec := _lookup_spec(row, features))]
    found: list[tuple[Any, ...]] = []
    half = MAX_CANDIDATES // 2
    for start in range(0, len(specs), LOOKUP_CHUNK * 4):
        chunk = specs[start : start + LOOKUP_CHUNK * 4]
        with connection.cursor() as cursor:
            cursor.execute(
                _LATERAL,
                [
                    json.dumps(chunk),
                    half,
                    half,
                    half,
                    half,
                    MAX_CANDIDATES + 1,
                    *(status.value for status in NOT_CANDIDATES),
                ],
            )
            rows = cursor.fetchall()
        if any(_unfiled(r[1:]) for r in rows):
            return None
        found += rows
    return found


def _lookup_spec(row: TicketRow, features: Features) -> dict[str, Any] | None:
    """``_lookup``'s keys and windows of one ticket, for ``_LATERAL``; None as there."""
    keys = retrieval_keys(features)
    if not keys:
        return None
    everywhere = set(global_keys(features))
    since = row.created_at - timedelta(hours=settings.DUPLICATES_GLOBAL_WINDOW_HOURS)
    return {
        "src": row.pk,
        "scoped": [key for key in keys if key not in everywhere],
        "everywhere": sorted(everywhere),
        "lo": (row.created_at - timedelta(days=settings.DUPLICATES_WINDOW_DAYS)).isoformat(),
        "hi": row.created_at.isoformat(),
        "since": since.isoformat(),
        "contact": row.contact_id,
        "account": row.account_id,
    }


def _lookup(row: TicketRow, features: Features) -> tuple[str, list[Any]] | None:
    """Return the SQL (and its parameters) of the ids of the ticket's candidates, at most
    ``MAX_CANDIDATES + 1``; None when it has no contact and no account."""
    keys = retrieval_keys(features)
    if not keys:
        return None
    everywhere = set(global_keys(features))
    scoped = [key for key in keys if key not in everywhere]
    adapt = connection.ops.adapt_datetimefield_value
    window = [
        adapt(row.created_at - timedelta(days=settings.DUPLICATES_WINDOW_DAYS)),
        adapt(row.created_at),
    ]
    half = MAX_CANDIDATES // 2
    # Each part the most recent first and bounded (a popular code, a busy account must
    # not crowd out the rest), and of all of them the newest ``MAX_CANDIDATES``.
    parts = [
        f"SELECT * FROM (SELECT DISTINCT ticket_id, created_at FROM {_BAND} WHERE band_key IN "  # noqa: S608
        f"({', '.join(['%s'] * len(scoped))}) AND created_at >= %s AND created_at <= %s "
        f"ORDER BY created_at DESC LIMIT {half}) b"
    ]
    params: list[Any] = [*scoped, *window]
    if everywhere:
        since = row.created_at - timedelta(hours=settings.DUPLICATES_GLOBAL_WINDOW_HOURS)
        parts.append(
            f"SELECT * FROM (SELECT DISTINCT ticket_id, created_at FROM {_BAND} WHERE band_key IN "  # noqa: S608
            f"({', '.join(['%s'] * len(everywhere))}) AND created_at >= %s AND created_at <= %s "
            f"ORDER BY created_at DESC LIMIT {half}) g"
        )
        params += [*sorted(everywhere), adapt(since), adapt(row.created_at)]
    for column, value in (("contact_id", row.contact_id), ("account_id", row.account_id)):
        if value is not None:
            parts.append(
                f"SELECT * FROM (SELECT id, created_at FROM {_TICKET} WHERE {column} = %s "  # noqa: S608
                "AND created_at >= %s AND created_at <= %s "
                f"ORDER BY created_at DESC LIMIT {half}) {column[0]}"
            )
            params += [value, *window]
    found = " UNION ".join(parts)
    return (
        f"SELECT ticket_id FROM ({found}) found ORDER BY created_at DESC, ticket_id DESC "  # noqa: S608
        f"LIMIT {MAX_CANDIDATES + 1}",
        params,
    )


def _unfiled(row: tuple[Any, ...]) -> bool:
    """A ``_live`` row whose signature is missing or older than ``features.VERSION``."""
    return row[3] != VERSION  # None without one


def _earlier(
    row: TicketRow,
    rows: list[tuple[Any, ...]],
    evidence: dict[int, Features],
    decoded: dict[int, Candidate] | None = None,
) -> list[Candidate]:
    """The rows' tickets created before ``row``'s, as candidates with their ``evidence``.
    ``decoded``: candidates already built by ticket id (a batch's tickets share most of
    their candidates: the same open tickets of a contact or reseller)."""
    memo: dict[int, Candidate] = {} if decoded is None else decoded
    earlier = (row.created_at, row.pk)
    out = []
    # By id: the batch's statement and the single lookup return them in whatever order
    # their plans give (SQLite's differ), and detection must not depend on it.
    for r in sorted(rows, key=itemgetter(0)):
        if r[3] is not None and r[0] in evidence and (aware(r[2]), r[0]) < earlier:
            if (candidate := memo.get(r[0])) is None:
                candidate = Candidate(r[0], format_reference(r[1]), evidence[r[0]])
                memo[r[0]] = candidate
            out.append(candidate)
    return out


# Candidates' evidence decoded by this process, by ticket and evidence stamp: the next
# batches meet the same open tickets of the same contacts and accounts, and evidence
# filed again has another stamp. Bounded: emptied when full.
_DECODED: dict[tuple[int, int], Features] = {}
DECODED_MAX = 4096


def _evidence_of(rows: Sequence[tuple[Any, ...]]) -> dict[int, Features]:
    """Return the evidence of the filed tickets of lookup rows (id, number, created_at,
    version, stamp[, evidence…]), by ticket: kept from an earlier lookup of this process
    if its stamp is the same, else decoded from the row or read in one statement (a
    signature filed before stamps were, each time). A ticket whose signature went
    meanwhile is left out."""
    out: dict[int, Features] = {}
    missing: set[int] = set()
    for r in rows:
        if r[3] is None or r[0] in out:
            continue
        if r[4] is not None and (features := _DECODED.get((r[0], r[4]))) is not None:
            out[r[0]] = features
        elif len(r) > 5:
            out[r[0]] = _decoded(r[0], r[4], r[5:])
        else:
            missing.add(r[0])
    if not missing:
        return out
    ids = sorted(missing)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), EVIDENCE_CHUNK):
            part = ids[start : start + EVIDENCE_CHUNK]
            params: list[Any] = part
            where = f"IN ({', '.join(['%s'] * len(part))})"
            if connection.vendor == "postgresql":  # one statement text, the ids an array
                where, params = "= ANY(%s::bigint[])", [_int_array(part)]
            cursor.execute(
                f"SELECT s.ticket_id, s.evidence_stamp, {_EVIDENCE} FROM {_SIGNATURE} s "  # noqa: S608 - names from _meta
                f"WHERE s.ticket_id {where}",
                params,
            )
            for pk, stamp, *evidence in cursor.fetchall():
                out[pk] = _decoded(pk, stamp, evidence)
    return out


def _decoded(pk: int, stamp: int | None, evidence: Sequence[Any]) -> Features:
    """Decode the evidence; kept by its ticket and stamp, if it has one."""
    features = _features(evidence)
    if stamp is not None:
        if len(_DECODED) >= DECODED_MAX:
            _DECODED.clear()
        _DECODED[(pk, stamp)] = features
    return features


def evidence_stamp(params: Sequence[Any]) -> int:
    """The digest of a signature's evidence as filed: ``_signature_params``' values of
    the ``_EVIDENCE`` columns, in their order."""
    return minhash.signed64(json.dumps([str(v) for v in params]))


# --- helpers ---------------------------------------------------------------------------


def _live(ids_sql: str, params: list[Any], exclude: int) -> list[tuple[Any, ...]]:
    """Return (id, number, created_at, version, stamp, evidence…) of the tickets in
    ``ids_sql`` that are not closed or merged; NULLs where no signature is filed. One
    ticket's lookup reads the evidence with it (a statement fewer than apart)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.number, t.created_at, {_STAMP}, {_EVIDENCE} FROM {_TICKET} t "  # noqa: S608
            f"LEFT JOIN {_SIGNATURE} s ON s.ticket_id = t.id WHERE t.id IN ({ids_sql}) "
            "AND t.id <> %s AND t.status NOT IN (%s, %s)",
            [*params, exclude, *(status.value for status in NOT_CANDIDATES)],
        )
        return cursor.fetchall()


def _features(evidence: Sequence[Any]) -> Features:
    """The features of ``_EVIDENCE``'s columns."""
    text_hash, tokens, subject_tokens, identifiers, occurred_at, contact_id, account_id = evidence[
        :7
    ]
    return Features(
        tokens=tuple(_json(tokens)),
        subject_tokens=tuple(_json(subject_tokens)),
        identifiers={k: frozenset(v) for k, v in _json(identifiers).items()},
        text_hash=text_hash,
        minhash=(),
        occurred_at=aware(occurred_at),
        contact_id=contact_id,
        account_id=account_id,
        language=evidence[7] or "en",
        marks=frozenset(_json(evidence[9]) or ()),
    )


def _json(value: Any) -> Any:
    # Django has psycopg2 hand jsonb over as text (JSONField decodes it); SQLite stores text.
    return json.loads(value) if isinstance(value, str | bytes) else value
