"""Keeping the facts and the daily figures current: new − old per ticket, in one
transaction with the fact rows locked, so two refreshes of one ticket never count twice."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from tickets.models import Ticket

from .contributions import Key, decode, encode, report_zone, ticket_states
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
    # Only tickets that still exist get a fact row: a refresh queued before a ticket was
    # deleted must not fail the whole chunk at COMMIT on the deferred foreign key.
    live = _tickets_held(ids)
    TicketFact.objects.bulk_create(
        [TicketFact(ticket_id=i) for i in ids if i in live], ignore_conflicts=True
    )
    facts = {
        f.ticket_id: f
        for f in TicketFact.objects.select_for_update().filter(ticket_id__in=ids).order_by("pk")
    }
    states = ticket_states(ids)  # read after the locks: what committed before us
    delta: Counter[Key] = Counter()
    open_delta: Counter[OpenKey] = Counter()
    changed = []
    for ticket_id, fact in facts.items():
        state = states.get(ticket_id)
        if state is None:
            continue  # the ticket is gone (its fact goes with it)
        old = decode(fact.contributions)
        delta.subtract(old)
        delta.update(state.contributions)
        open_delta.subtract(open_keys_of(fact))  # what it counted in, and counts in now
        open_delta.update(open_keys_of(state))
        fact.line_id, fact.department_id = state.line_id, state.department_id
        fact.status, fact.assignee_id = state.status, state.assignee_id
        fact.created_at, fact.excluded = state.created_at, state.excluded
        fact.last_day = state.last_day
        fact.contributions = encode(state.contributions)
        changed.append(fact)
    facts_write(changed)
    if rollups:
        figures_add({k: v for k, v in delta.items() if v})
        open_add(dict(open_delta))


def _tickets_held(ids: list[int]) -> set[int]:
    """The ids among ``ids`` whose tickets exist, held (on PostgreSQL) against deletion
    until this transaction ends: FOR KEY SHARE blocks a DELETE, not the desk's updates."""
    if connection.vendor != "postgresql":  # SQLite: one writer at a time
        return set(Ticket.objects.filter(pk__in=ids).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM tickets_ticket WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", [ids]
        )
        return {row[0] for row in cursor.fetchall()}


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


def facts_write(facts: list[TicketFact]) -> None:
    """Update the locked fact rows in one statement (Django's bulk_update builds a CASE
    per row and column: seconds for 500 rows)."""
    if not facts:
        return
    postgres = connection.vendor == "postgresql"
    row = "(" + ", ".join(["%s"] * (len(FACT_COLUMNS) + 1)) + ")"
    params: list = []
    for fact in facts:
        params.append(fact.ticket_id)
        params += [getattr(fact, column) for column in FACT_COLUMNS[:-4]]
        params.append(connection.ops.adapt_datetimefield_value(fact.created_at))
        params.append(fact.excluded)
        params.append(connection.ops.adapt_datefield_value(fact.last_day))
        params.append(json.dumps(fact.contributions))
    casts = {"contributions": "::jsonb", "last_day": "::date"} if postgres else {}
    assignments = ", ".join(f"{c} = v.{c}{casts.get(c, '')}" for c in FACT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(ticket_id, {', '.join(FACT_COLUMNS)}) AS (VALUES "  # noqa: S608 - names
            f"{', '.join([row] * len(facts))}) UPDATE reports_ticketfact SET {assignments} "
            "FROM v WHERE reports_ticketfact.ticket_id = v.ticket_id",
            params,
        )


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
