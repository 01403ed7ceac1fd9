"""Keeping the facts and the daily figures current: new − old per ticket, in one
transaction with the fact rows locked, so two refreshes of one ticket never count twice."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from tickets.models import Ticket

from .contributions import (
    Key,
    TicketState,
    aware,
    decode,
    encode,
    report_zone,
    ticket_states,
)
from .models import DailyFigure, TicketFact
from .open_now import OpenKey, open_add, open_keys_of, open_rebuild

CHUNK = 500
# Figures not made of ticket contributions: rebuilds leave them alone.
SNAPSHOT_PREFIXES = ("backlog_", "kb_")
# One key for the lock between refreshes (shared) and rebuilds (exclusive) on PostgreSQL.
LOCK_KEY = 7_140_001


def facts_refresh(ticket_ids: Iterable[int]) -> int:
    """Bring the facts of these tickets and the daily figures up to date; return how
    many tickets were refreshed. Idempotent: a second call changes nothing."""
    ids = sorted(set(ticket_ids))
    for start in range(0, len(ids), CHUNK):
        _refresh_chunk(ids[start : start + CHUNK])
    return len(ids)


@transaction.atomic
def _refresh_chunk(ids: list[int], *, rollups: bool = True) -> None:
    _lock(shared=True)
    facts = _facts_locked(ids)
    states = ticket_states(ids)  # read after the locks: what committed before us
    # Tickets without a fact get theirs complete, in one insert (not an empty row that
    # the same refresh then updates). One that another refresh gave a fact since our
    # read (or that was deleted) is not inserted: it takes the locked path below, its
    # state read again after the lock, since ours may be older than what that one wrote.
    new = {pk: state for pk, state in states.items() if pk not in facts}
    inserted = facts_insert([(pk, state, _stored(state)) for pk, state in new.items()])
    if late := sorted(pk for pk in new if pk not in inserted):
        late_facts = _facts_locked(late)
        facts.update(late_facts)
        states.update(ticket_states(list(late_facts)))
    delta: Counter[Key] = Counter()
    open_delta: Counter[OpenKey] = Counter()
    for pk in inserted:  # new − nothing
        delta.update(new[pk].contributions)
        open_delta.update(open_keys_of(new[pk]))
    changed: list[tuple[int, TicketState, str]] = []
    for ticket_id, fact in facts.items():
        state = states.get(ticket_id)
        if state is None:
            continue  # the ticket is gone (its fact goes with it)
        stored = _stored(state)
        if stored == fact.contributions and _dimensions(fact) == _dimensions(state):
            continue  # unchanged (most refreshes of a ticket): new − old = 0, nothing to write
        delta.subtract(decode(_loads(fact.contributions)))
        delta.update(state.contributions)
        open_delta.subtract(open_keys_of(fact))  # what it counted in, and counts in now
        open_delta.update(open_keys_of(state))
        changed.append((ticket_id, state, stored))
    facts_write(changed)
    if rollups:
        figures_add({k: v for k, v in delta.items() if v})
        open_add(dict(open_delta))


def _stored(state: TicketState) -> str:
    """Return the state's contributions as the database prints them (what we compare)."""
    return json.dumps(encode(state.contributions))


class StoredFact(NamedTuple):
    """A fact row as read for a refresh (``contributions`` as the database prints it)."""

    line_id: int
    department_id: int
    status: str
    assignee_id: int
    created_at: datetime | None
    excluded: bool
    contributions: Any


def _dimensions(fact: StoredFact | TicketState) -> tuple[Any, ...]:
    return (
        fact.line_id,
        fact.department_id,
        fact.status,
        fact.assignee_id,
        fact.created_at,
        bool(fact.excluded),
    )


def _loads(contributions: Any) -> list[list[Any]]:
    return json.loads(contributions) if isinstance(contributions, str | bytes) else contributions


def facts_insert(rows: list[tuple[int, TicketState, str]]) -> set[int]:
    """Insert the complete facts of ``rows`` (ticket id, state, contributions as JSON) in
    one statement; return the ticket ids inserted. Only tickets that still exist get one:
    a refresh queued before a ticket was deleted must not fail the whole chunk at COMMIT
    on the deferred foreign key. On PostgreSQL those tickets are held against deletion
    until this transaction ends (FOR KEY SHARE blocks a DELETE, not the desk's updates);
    SQLite runs one writer at a time. Tickets that have a fact are not locked (their
    fact's own lock is enough: deleting the ticket deletes the fact first): a row lock
    writes to the ticket's page, and beside the intake's own lock on the same ticket
    makes a multixact. A fact another refresh inserted first is left to it (ON CONFLICT
    DO NOTHING, after waiting for that one's commit) and not returned."""
    if not rows:
        return set()
    postgres = connection.vendor == "postgresql"
    values, params = _fact_rows(rows)
    columns = ", ".join(
        f"v.column{i}{CASTS.get(c, '') if postgres else ''}"
        for i, c in enumerate(FACT_COLUMNS, start=2)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO reports_ticketfact (ticket_id, {', '.join(FACT_COLUMNS)}) "  # noqa: S608 - names, int()s
            f"SELECT v.column1, {columns} FROM (VALUES {values}) v "
            "JOIN tickets_ticket t ON t.id = v.column1 WHERE true "  # WHERE: SQLite's upsert
            f"ORDER BY t.id{' FOR KEY SHARE OF t' if postgres else ''} "
            "ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def _facts_locked(ids: list[int]) -> dict[int, StoredFact]:
    """Return the fact rows of ``ids``, locked (on PostgreSQL) in id order."""
    where, params = _in("ticket_id", ids)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ticket_id, line_id, department_id, status, assignee_id, created_at, "  # noqa: S608 - placeholders only
            f"excluded, contributions FROM reports_ticketfact WHERE {where} "
            f"ORDER BY ticket_id{lock}",
            params,
        )
        return {
            row[0]: StoredFact(row[1], row[2], row[3], row[4], aware(row[5]), bool(row[6]), row[7])
            for row in cursor.fetchall()
        }


def _in(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """Return the test of ``column`` against ``ids`` and its parameters."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


FACT_COLUMNS = (
    "line_id",
    "department_id",
    "status",
    "assignee_id",
    "created_at",
    "excluded",
    "last_day",
    "contributions",
)
# The columns passed as text (PostgreSQL types the others from their literals).
CASTS = {"created_at": "::timestamptz", "last_day": "::date", "contributions": "::jsonb"}


def facts_write(changed: list[tuple[int, TicketState, str]]) -> None:
    """Update the locked fact rows of ``changed`` (ticket id, state, its contributions as
    JSON) in one statement (Django's bulk_update builds a CASE per row and column:
    seconds for 500 rows)."""
    if not changed:
        return
    postgres = connection.vendor == "postgresql"
    values, params = _fact_rows(changed)
    casts = CASTS if postgres else {}
    assignments = ", ".join(f"{c} = v.{c}{casts.get(c, '')}" for c in FACT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(ticket_id, {', '.join(FACT_COLUMNS)}) AS (VALUES "  # noqa: S608 - names, int()s
            f"{values}) UPDATE reports_ticketfact SET {assignments} "
            "FROM v WHERE reports_ticketfact.ticket_id = v.ticket_id",
            params,
        )


def _fact_rows(rows: list[tuple[int, TicketState, str]]) -> tuple[str, list[Any]]:
    """Return the VALUES rows of ``rows`` (ticket_id, then FACT_COLUMNS) and their
    parameters. Integers and booleans are written as literals (``int()``: nothing else
    can get in), the rest are parameters, times as ISO text: psycopg2 spent ~2 µs
    adapting each integer and ~4 µs each datetime, most of the insert's CPU."""
    postgres = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value  # once: the proxy looks it up each time
    params: list[Any] = []
    values: list[str] = []
    for ticket_id, state, contributions in rows:
        values.append(
            f"({int(ticket_id)}, {int(state.line_id)}, {int(state.department_id)}, %s, "
            f"{int(state.assignee_id)}, %s, {'true' if state.excluded else 'false'}, %s, %s)"
            if postgres
            else f"({int(ticket_id)}, {int(state.line_id)}, {int(state.department_id)}, %s, "
            f"{int(state.assignee_id)}, %s, {1 if state.excluded else 0}, %s, %s)"
        )
        days = [key[0] for key in state.contributions]  # ISO dates: the latest sorts last
        params += [
            state.status,
            state.created_at.isoformat() if postgres else adapt(state.created_at),
            max(days) if days else None,  # last_day
            contributions,
        ]
    return ", ".join(values), params


def figures_add(delta: dict[Key, int]) -> None:
    """Add ``delta`` to the daily figures (one upsert per 500 keys, in key order so two
    writers never wait for each other in a circle)."""
    keys = sorted(delta)
    for start in range(0, len(keys), CHUNK):
        part = keys[start : start + CHUNK]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(part))
        params: list[Any] = []
        for key in part:
            day, line, department, channel, agent, excluded, metric = key
            params += [day, line, department, channel, agent, excluded, metric, delta[key]]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO reports_dailyfigure (day, line_id, department_id, channel, "  # noqa: S608 - placeholders only
                f"agent_id, excluded, metric, value) VALUES {values} "
                "ON CONFLICT (day, line_id, department_id, channel, agent_id, excluded, metric) "
                "DO UPDATE SET value = reports_dailyfigure.value + EXCLUDED.value",
                params,
            )


@transaction.atomic
def days_rebuild(first: date, last: date) -> int:
    """Recompute the ticket figures of days ``first``..``last`` from the facts (the beat's
    safety net, and a full rebuild), summed by the database; return how many figure rows
    were written."""
    _lock(shared=False)
    stale = DailyFigure.objects.filter(day__gte=first, day__lte=last)
    for prefix in SNAPSHOT_PREFIXES:
        stale = stale.exclude(metric__startswith=prefix)
    stale.delete()
    if connection.vendor == "postgresql":
        parts = ["(c->>0)::date", "(c->>1)::int", "(c->>2)::int", "c->>3", "(c->>4)::int",
                 "(c->>5)::boolean", "c->>6"]  # fmt: skip
        value = "(c->>7)::bigint"
        source = "reports_ticketfact f CROSS JOIN LATERAL jsonb_array_elements(f.contributions) c"
    else:
        parts = [f"json_extract(c.value, '$[{i}]')" for i in range(7)]
        value = "json_extract(c.value, '$[7]')"
        source = "reports_ticketfact f, json_each(f.contributions) c"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reports_dailyfigure (day, line_id, department_id, channel, agent_id, "  # noqa: S608 - constants
            f"excluded, metric, value) SELECT {', '.join(parts)}, sum({value}) FROM {source} "
            f"WHERE f.last_day >= %s AND {parts[0]} BETWEEN %s AND %s "
            f"GROUP BY {', '.join(str(i) for i in range(1, 8))} HAVING sum({value}) <> 0",
            [first, first, last]
            if connection.vendor == "postgresql"
            else [first.isoformat(), first.isoformat(), last.isoformat()],
        )
        return cursor.rowcount


@transaction.atomic
def open_recount() -> int:
    """Recount what is open now from the facts (the beat's safety net); return how many
    figure rows."""
    _lock(shared=False)
    return open_rebuild()


def facts_rebuild_all(*, chunk: int = 2000) -> int:
    """Refresh every ticket's facts (an upgraded desk, or after a bulk import done
    outside the services), then rebuild every day; return how many tickets."""
    done = 0
    last = 0
    while True:
        ids = list(
            Ticket.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            break
        _refresh_chunk(ids, rollups=False)  # the rebuild below sums every fact at once
        last, done = ids[-1], done + len(ids)
    first = Ticket.objects.order_by("created_at").values_list("created_at", flat=True).first()
    latest = TicketFact.objects.exclude(last_day=None).order_by("-last_day")
    last_day = latest.values_list("last_day", flat=True).first()
    open_recount()
    if first is not None:
        days_rebuild(
            first.astimezone(report_zone()).date() - timedelta(days=1),
            max(filter(None, [last_day, _today()])),
        )
    return done


def recently_changed(minutes: int = 30) -> list[int]:
    """Return tickets changed or alerted on in the last ``minutes`` (the beat refreshes
    them again in case an announcement was lost)."""
    from sla.models import SlaAlert

    since = timezone.now() - timedelta(minutes=minutes)
    ids = set(Ticket.objects.filter(updated_at__gte=since).values_list("pk", flat=True)[:20000])
    ids |= set(SlaAlert.objects.filter(created_at__gte=since).values_list("ticket_id", flat=True))
    return sorted(ids)


def backlog_snapshot(day: date | None = None) -> int:
    """Store the open tickets by line, department, status and age on ``day`` (today):
    the history of the backlog; return how many rows."""
    from .figures import AGE_BUCKETS, age_bucket

    day = day or _today()
    now = timezone.now()
    counts: Counter[Key] = Counter()
    rows = TicketFact.objects.filter(
        Q(status__in=["new", "open", "pending_customer", "on_hold"]), excluded=False
    ).values_list("line_id", "department_id", "status", "created_at")
    for line, department, status, created in rows.iterator(chunk_size=5000):
        bucket = age_bucket(now - created) if created else AGE_BUCKETS[-1][0]
        counts[(day.isoformat(), line, department, "", 0, False, f"backlog_{status}_{bucket}")] += 1
    with transaction.atomic():
        DailyFigure.objects.filter(day=day, metric__startswith="backlog_").delete()
        figures_add(dict(counts))
    return len(counts)


def _today() -> date:
    return timezone.now().astimezone(report_zone()).date()


def _lock(*, shared: bool) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite runs one writing transaction at a time anyway
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])
