"""Keep ``TicketRow`` (the lists' read model) in step with tickets and their SLA clocks.

``rows_refresh`` rebuilds the rows of some tickets from their source rows in a fixed
number of queries: one read of the tickets, one of their SLA clocks, one upsert. It is
idempotent, so receivers call it for whatever a commit touched, and
``manage.py workspace_rows`` rebuilds everything (after a restore, or to check).

A desk upgraded to the workspace has tickets and no rows. ``rows_after_migrate`` builds a
small desk's rows inside ``migrate``; a bigger one's are left to the worker
(``workspace.rows_backfill``, resumable batches) or to ``manage.py workspace_rows
--missing``, so ``migrate`` stays quick whatever the desk holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from duplicates.models import DuplicateFlag, FlagStatus
from sla.models import TARGETS, TicketSla
from tickets.models import Status, Ticket

from . import counts, view_sql
from .models import NO_DUE, TicketRow
from .prepared import prepared_writes

UNSOLVED_STATUSES = frozenset({Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD})
ROW_FIELDS = [f.attname for f in TicketRow._meta.concrete_fields if f.attname != "ticket_id"]
CHUNK = 1000


def rows_refresh(ticket_ids: Iterable[int]) -> int:
    """Rebuild the rows of these tickets (dropping those of deleted tickets); return how
    many rows were written."""
    ids = sorted(set(ticket_ids))
    written = 0
    for start in range(0, len(ids), CHUNK):
        written += _refresh_chunk(ids[start : start + CHUNK])
    return written


def rows_rebuild_all(batch: int = CHUNK) -> int:
    """Rebuild every ticket's row, in id order and batches; return how many."""
    done, last = 0, 0
    while True:
        ids = list(
            Ticket.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return done
        done += _refresh_chunk(ids)
        last = ids[-1]


def rows_missing_fill(
    after: int = 0, batch: int = CHUNK, seconds: float | None = None
) -> tuple[int, int | None]:
    """Build the rows of tickets that have none, in id order after ``after``, batch by
    batch, stopping once ``seconds`` have passed. Return how many were written and the id
    to resume after (None once no ticket lacks a row)."""
    began, written = time.monotonic(), 0
    while True:
        ids = list(
            Ticket.objects.filter(pk__gt=after, desk_row__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return written, None
        written += _refresh_chunk(ids)
        after = ids[-1]
        if seconds is not None and time.monotonic() - began >= seconds:
            return written, after


def rows_after_migrate() -> str | None:
    """Give a desk that has tickets but no rows (just upgraded to the workspace) its rows
    without holding ``migrate`` up; return what the operator should know, if anything.

    Up to ``WORKSPACE_ROWS_INLINE`` tickets are built here (a second or so); beyond that
    the rows are queued for the worker, because one read and one upsert per thousand
    tickets is minutes on a desk of a million.
    """
    if TicketRow._meta.db_table not in connection.introspection.table_names():
        return None  # migrated back to before the workspace
    if TicketRow.objects.exists() or not Ticket.objects.exists():
        return None
    limit = getattr(settings, "WORKSPACE_ROWS_INLINE", 5000)
    if len(Ticket.objects.values_list("pk", flat=True)[: limit + 1]) <= limit:
        written, _ = rows_missing_fill()
        return f"Workspace: list rows built for {written} tickets."
    from .tasks import rows_backfill_task

    try:
        rows_backfill_task.delay(0)
    except Exception as exc:  # the broker is down: the command does the same work
        return (
            f"Workspace: the tickets have no list rows yet and the worker could not be asked "
            f"({type(exc).__name__}: {exc}); run `manage.py workspace_rows --missing`."
        )
    return (
        "Workspace: the tickets have no list rows yet; the worker builds them in batches "
        "(task workspace.rows_backfill), or run `manage.py workspace_rows --missing` now."
    )


def _refresh_chunk(ids: list[int]) -> int:
    if connection.vendor == "postgresql":
        return _refresh_chunk_in_sql(ids)
    return _refresh_chunk_read(ids)


def _refresh_chunk_in_sql(ids: list[int]) -> int:
    """PostgreSQL: build the rows where their sources are, in the upsert itself (the
    rules of ``_row`` and ``_clocks`` in SQL). The worker no longer reads the tickets,
    their clocks and flags only to send the same values back: after every ingest batch
    that was a thousand tickets' values decoded, built into rows and encoded again."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _rows_sql(),
                {
                    "ids": ids,
                    "now": timezone.now(),
                    "unsolved": sorted(UNSOLVED_STATUSES),
                    "suggested": FlagStatus.SUGGESTED,
                    "no_due": NO_DUE,
                },
            )
            written = {row[0] for row in cursor.fetchall()}
        gone = set(ids) - written
        if gone:
            TicketRow.objects.filter(ticket_id__in=gone).delete()
        _tags_follow(ids)
    counts.changed()  # the sidebar's kept counts are stale from here
    return len(written)


@cache
def _rows_sql() -> str:
    """The upsert that builds the rows of ``%(ids)s`` from the tickets, their SLA clocks
    and duplicate flags: ``_row`` of ``_clocks`` (the earliest running deadline, the first
    target on a tie, with its own at-risk moment) as one statement."""
    quote = connection.ops.quote_name
    fields: list[Any] = list(TicketRow._meta.concrete_fields)
    columns = ", ".join(quote(f.column) for f in fields)
    updates = ", ".join(
        f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in fields if not f.primary_key
    )
    targets = ", ".join(
        f"({i}, '{name}', s.{quote(name + '_due')}, s.{quote(name + '_state')})"
        for i, name in enumerate(TARGETS)
    )  # names from sla.models.TARGETS
    # Names from _meta and TARGETS; values are parameters.
    sla, flags = quote(TicketSla._meta.db_table), quote(DuplicateFlag._meta.db_table)
    risk = "NULLIF(s.\"explanation\" #>> ARRAY['targets', x.name, 'risk_at'], '')::timestamptz"
    clock = (
        f"SELECT x.due, {risk} AS risk_at FROM {sla} s CROSS JOIN LATERAL "  # noqa: S608
        f"(VALUES {targets}) AS x(ord, name, due, state) WHERE s.ticket_id = t.id "
        "AND x.state = 'running' AND x.due IS NOT NULL ORDER BY x.due, x.ord LIMIT 1"
    )
    flagged = (
        f"EXISTS (SELECT 1 FROM {flags} f WHERE f.ticket_id = t.id "  # noqa: S608
        "AND f.status = %(suggested)s)"
    )
    values = {
        "ticket_id": "t.id",
        "unsolved": "u.unsolved",
        "sla_due": "CASE WHEN u.unsolved THEN c.due END",
        "sla_risk_at": "CASE WHEN u.unsolved THEN c.risk_at END",
        "sla_risk_reached": "COALESCE(u.unsolved AND c.risk_at <= %(now)s, false)",
        "possible_duplicate": f"u.unsolved AND {flagged}",
        "due_sort": "CASE WHEN u.unsolved AND c.due IS NOT NULL THEN c.due ELSE %(no_due)s END",
        "last_activity_at": "t.updated_at",
    }
    select = ", ".join(values.get(f.attname, f"t.{quote(f.attname)}") for f in fields)
    return (
        f"INSERT INTO {quote(TicketRow._meta.db_table)} ({columns}) "  # noqa: S608 - names
        f"SELECT {select} FROM {quote(Ticket._meta.db_table)} t "  # from _meta, values
        "CROSS JOIN LATERAL (SELECT t.status = ANY(%(unsolved)s::text[]) AS unsolved) u "  # as
        f"LEFT JOIN LATERAL ({clock}) c ON true WHERE t.id = ANY(%(ids)s::bigint[]) "  # parameters
        f"ON CONFLICT ({quote('ticket_id')}) DO UPDATE SET {updates} RETURNING ticket_id"
    )


def _refresh_chunk_read(ids: list[int]) -> int:
    """Other databases: read the tickets, clocks and flags; write the rows built here."""
    tickets = list(
        Ticket.objects.filter(pk__in=ids).values(
            "id",
            "number",
            "subject",
            "status",
            "severity",
            "department_id",
            "assignee_id",
            "account_id",
            "contact_id",
            "origin_channel",
            "needs_verification",
            "updated_at",
            "created_at",
            "line_id",
        )
    )
    clocks = _clocks({t["id"] for t in tickets})
    flagged = set(
        DuplicateFlag.objects.filter(
            ticket_id__in=[t["id"] for t in tickets], status=FlagStatus.SUGGESTED
        ).values_list("ticket_id", flat=True)
    )
    now = timezone.now()
    rows = [_row(t, clocks.get(t["id"]), now, t["id"] in flagged) for t in tickets]
    with transaction.atomic():
        gone = set(ids) - {t["id"] for t in tickets}
        if gone:
            TicketRow.objects.filter(ticket_id__in=gone).delete()
        if rows:
            _upsert(rows)
        _tags_follow(ids)
    counts.changed()  # the sidebar's kept counts are stale from here
    return len(rows)


def _upsert(rows: list[dict[str, Any]]) -> None:
    """Insert or overwrite the rows: ``bulk_create(update_conflicts=True)``'s statement,
    with the values taken as they are. Its per-field preparation (pre_save,
    get_db_prep_save, ~20 fields a row) was ~2/3 of the refresh that follows every
    ingest batch; only the date-times need the backend's adaptation (SQLite's text)."""
    meta = TicketRow._meta
    quote = connection.ops.quote_name
    fields: list[Any] = list(meta.concrete_fields)
    adapt = connection.ops.adapt_datetimefield_value
    dated = [f.get_internal_type() == "DateTimeField" for f in fields]
    columns = ", ".join(quote(f.column) for f in fields)
    key = next(quote(f.column) for f in fields if f.primary_key)
    updates = ", ".join(
        f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in fields if not f.primary_key
    )
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params: list[Any] = []
        for row in chunk:
            for f, is_date in zip(fields, dated, strict=True):
                value = row[f.attname]
                params.append(adapt(value) if is_date else value)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 - names from _meta
                f"VALUES {', '.join([row_marks] * len(chunk))} "
                f"ON CONFLICT ({key}) DO UPDATE SET {updates}",
                params,
            )


# The tags the tickets have now, while unsolved, with their row's due order (read after
# the rows were written, in the same transaction).
_TAGS_NOW = (
    'SELECT tt."ticket_id", tt."tag_id", r."due_sort" FROM "{tags}" tt '
    'JOIN "{rows}" r ON r."ticket_id" = tt."ticket_id" WHERE tt."ticket_id" {ids} AND r."unsolved"'
)
_TAGS_GONE = (
    'DELETE FROM "{row_tags}" WHERE "ticket_id" {ids} AND NOT EXISTS (SELECT 1 FROM "{tags}" '
    'tt JOIN "{rows}" r ON r."ticket_id" = tt."ticket_id" WHERE tt."ticket_id" = '
    '"{row_tags}"."ticket_id" AND tt."tag_id" = "{row_tags}"."tag_id" AND r."unsolved")'
)
# Only a moved due rewrites a tag's row: a refresh that changes nothing of it (most SLA
# recomputes of a tagged ticket) leaves no dead row behind.
_TAGS_SET = (
    'INSERT INTO "{row_tags}" ("ticket_id", "tag_id", "due_sort") ' + _TAGS_NOW + " "
    'ON CONFLICT ("ticket_id", "tag_id") DO UPDATE SET "due_sort" = EXCLUDED."due_sort" '
    'WHERE "{row_tags}"."due_sort" <> EXCLUDED."due_sort"'
)


def _tags_follow(ids: list[int]) -> None:
    """Make the tickets' ``TicketRowTag`` rows their tags now (none once solved or
    deleted), each with its row's ``due_sort``: one statement on PostgreSQL (the two
    parts touch different rows), two on SQLite."""
    names = {"row_tags": view_sql.ROW_TAGS, "tags": view_sql.TICKET_TAGS, "rows": view_sql.ROWS}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"WITH gone AS ({_TAGS_GONE}) {_TAGS_SET}".format(
                ids="= ANY((SELECT %s::bigint[])::bigint[])", **names
            )
            # One statement text for any number of tickets (an array), planned once per
            # connection: planning it was ten times running it for a refresh of one ticket.
            with prepared_writes():
                cursor.execute(sql, [ids, ids])
            return
        marks = "IN (" + ", ".join(["%s"] * len(ids)) + ")"
        cursor.execute(_TAGS_GONE.format(ids=marks, **names), ids)
        cursor.execute(_TAGS_SET.format(ids=marks, **names), ids)


def _clocks(ids: set[int]) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Return each ticket's earliest running deadline and its at-risk moment."""
    out: dict[int, tuple[datetime | None, datetime | None]] = {}
    columns = [c for name in TARGETS for c in (f"{name}_due", f"{name}_state")]
    # Only the at-risk moments of the explanation, picked out by the database: decoding
    # each whole explanation (a few kB of JSON) was a third of a refresh.
    risks = {name: f"explanation__targets__{name}__risk_at" for name in TARGETS}
    for row in TicketSla.objects.filter(ticket_id__in=ids).values(
        "ticket_id", *risks.values(), *columns
    ):
        best: tuple[datetime | None, datetime | None] = (None, None)
        for name in TARGETS:
            due = row[f"{name}_due"]
            if row[f"{name}_state"] != "running" or due is None:
                continue
            if best[0] is None or due < best[0]:
                risk = row[risks[name]]
                best = (due, datetime.fromisoformat(risk) if risk else None)
        out[row["ticket_id"]] = best
    return out


def _row(
    ticket: Mapping[str, Any],
    clock: tuple[datetime | None, datetime | None] | None,
    now: datetime,
    flagged: bool,
) -> dict[str, Any]:
    """A ``TicketRow``'s column values by attribute name (no model instance: ``_upsert``
    writes them as they are)."""
    due, risk_at = clock or (None, None)
    unsolved = ticket["status"] in UNSOLVED_STATUSES
    return dict(
        ticket_id=ticket["id"],
        number=ticket["number"],
        subject=ticket["subject"],
        status=ticket["status"],
        unsolved=unsolved,
        severity=ticket["severity"],
        department_id=ticket["department_id"],
        assignee_id=ticket["assignee_id"],
        account_id=ticket["account_id"],
        contact_id=ticket["contact_id"],
        line_id=ticket["line_id"],
        origin_channel=ticket["origin_channel"],
        needs_verification=ticket["needs_verification"],
        # A waiting ticket's clocks are paused, a solved one's stopped: no countdown.
        sla_due=due if unsolved else None,
        sla_risk_at=risk_at if unsolved else None,
        sla_risk_reached=bool(unsolved and risk_at is not None and risk_at <= now),
        possible_duplicate=unsolved and flagged,
        due_sort=due if (unsolved and due is not None) else NO_DUE,
        last_activity_at=ticket["updated_at"],
        created_at=ticket["created_at"],
    )


def rows_tick(now: datetime | None = None) -> dict[str, int]:
    """Bring rows in step with what changes without a ticket event (the minute beat):
    at-risk moments that passed, and duplicate flags filed or closed in bulk. Return how
    many rows each part changed."""
    suggested = DuplicateFlag.objects.filter(status=FlagStatus.SUGGESTED).values("ticket_id")
    changes = {
        "risk_reached": TicketRow.objects.filter(
            unsolved=True, sla_risk_reached=False, sla_risk_at__lte=now or timezone.now()
        ).update(sla_risk_reached=True),
        "flagged": TicketRow.objects.filter(
            unsolved=True, possible_duplicate=False, ticket_id__in=suggested
        ).update(possible_duplicate=True),
        "unflagged": TicketRow.objects.filter(unsolved=True, possible_duplicate=True)
        .exclude(ticket_id__in=suggested)
        .update(possible_duplicate=False),
    }
    if any(changes.values()):
        counts.changed()
    return changes
