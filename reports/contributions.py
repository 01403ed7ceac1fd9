"""What one ticket contributes to the daily figures, read from the tickets, SLA clocks,
duplicate flags and satisfaction ratings in a fixed number of queries for many tickets.

Days are dates in the report zone (``SUPPORTDESK_REPORT_TIME_ZONE``). A ticket is
counted with its dimensions as they are now (a ticket moved to another department moves
its figures with it), and marked ``excluded`` when it is cloned by the customer or merged.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from csat.models import Survey
from duplicates.models import DuplicateFlag
from sla.models import TicketSla
from supportdesk.sql import aware, ids_test
from tickets.models import Direction, EventKind, Message, Status, Ticket, TicketEvent

HAS_LINE = any(f.name == "line" for f in Ticket._meta.get_fields())

# First-response times (business minutes) are counted in these buckets; the median and
# p90 are read from the bucket counts (reports.figures), exact to a bucket.
FRT_EDGES_MINUTES = (
    5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 360, 480, 600, 720, 960, 1200,
    1440, 1920, 2400, 2880, 4320, 5760, 7200, 10080, 14400, 20160,
)  # fmt: skip
FRT_PREFIX = "frt_"

# Metrics counted whether or not the ticket is excluded (they are about duplicates).
DUPLICATE_METRICS = frozenset({"dup_flagged", "merged"})

Key = tuple[str, int, int, str, int, bool, str]  # day, line, dept, channel, agent, excl, metric


def report_zone() -> ZoneInfo:
    return ZoneInfo(settings.SUPPORTDESK_REPORT_TIME_ZONE)


def day_of(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()


def frt_metric(seconds: int) -> str:
    """Return the histogram metric of a first response taking ``seconds`` business seconds."""
    return f"{FRT_PREFIX}{bisect.bisect_right(FRT_EDGES_MINUTES, seconds / 60):02d}"


@dataclass
class TicketState:
    """A ticket's dimensions now and its contributions."""

    line_id: int
    department_id: int
    status: str
    assignee_id: int
    created_at: datetime
    excluded: bool
    contributions: dict[Key, int] = field(default_factory=dict)

    @property
    def last_day(self) -> date | None:
        days = [k[0] for k in self.contributions]
        return date.fromisoformat(max(days)) if days else None


def ticket_states(ticket_ids: list[int]) -> dict[int, TicketState]:
    """Return the state of each existing ticket of ``ticket_ids``.

    Read with plain SQL, two statements for the whole batch (the tickets with their SLA
    clocks; their replies, flags, merges and ratings): the ORM's ``values()``
    built a dict and ran converters for every row, most of the refresh's CPU.
    """
    zone = report_zone()
    states: dict[int, TicketState] = {}
    if not ticket_ids:
        return states
    tickets = _rows(_sql("tickets"), ticket_ids)
    for pk, department, channel, status, cloned, created, solved, assignee, line, *sla in tickets:
        created = aware(created)
        state = TicketState(
            line_id=line or 0,
            department_id=department,
            status=status,
            assignee_id=assignee or 0,
            created_at=created,
            excluded=bool(cloned) or status == Status.MERGED,
        )
        add = _adder(state)
        add(day_of(created, zone), channel, 0, "created")
        if solved is not None and status in (Status.SOLVED, Status.CLOSED):
            solved_day = day_of(aware(solved), zone)
            add(solved_day, channel, 0, "solved")
            if state.assignee_id:
                add(solved_day, "", state.assignee_id, "solved_by")
        if sla[0]:  # the ticket has SLA clocks (LEFT JOIN)
            _sla(add, sla[1:], zone)
        states[pk] = state
    if not states:
        return states
    merged_ids = [pk for pk, s in states.items() if s.status == Status.MERGED]
    latest_merge: dict[int, tuple[int, Any]] = {}
    for part, ticket_id, value, when in _related(list(states), merged_ids):
        if part == "r":  # an agent's reply (value: the agent)
            _adder(states[ticket_id])(day_of(aware(when), zone), "", value, "replies")
        elif part == "f":  # a duplicate flag
            _adder(states[ticket_id])(day_of(aware(when), zone), "", 0, "dup_flagged")
        elif part == "m":  # a merge (value: the event's id): the latest one holds
            if ticket_id not in latest_merge or value > latest_merge[ticket_id][0]:
                latest_merge[ticket_id] = (value, when)
        elif when is not None:  # a rating (value), always set with its time
            _adder(states[ticket_id])(day_of(aware(when), zone), "", 0, f"csat_{value}")
    for ticket_id, (_pk, when) in latest_merge.items():
        _adder(states[ticket_id])(day_of(aware(when), zone), "", 0, "merged")
    return states


def _related(ids: list[int], merged_ids: list[int]) -> list[tuple[Any, ...]]:
    """Return the replies, flags, merges (of ``merged_ids`` only) and ratings of ``ids`` in
    one statement: ``(part, ticket id, value, time)`` rows (four statements before: three
    more round trips a refresh)."""
    vendor = connection.vendor
    test, params = ids_test(ids, vendor)
    merged_test, merged_params = ids_test(merged_ids, vendor)
    if not merged_ids:
        merged_test, merged_params = "IN (NULL)", []  # none: the merges' part reads nothing
    with connection.cursor() as cursor:
        cursor.execute(
            _sql("related").format(ids=test, merged=merged_test),
            [*params, *params, *merged_params, *params],
        )
        return cursor.fetchall()


def _rows(sql: str, ids: list[int]) -> list[tuple[Any, ...]]:
    """Run ``sql``, whose ``{ids}`` tests a ticket id against ``ids``; return its rows."""
    if not ids:
        return []
    test, params = ids_test(ids, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=test), params)
        return cursor.fetchall()


@cache
def _sql(name: str) -> str:
    """The statements of ``ticket_states``, with table and column names from the models
    (``{ids}``: the test of a ticket id, filled in by ``_rows``)."""
    ticket, sla = Ticket._meta.db_table, TicketSla._meta.db_table
    line = "t.line_id" if HAS_LINE else "NULL"
    targets = ", ".join(
        f"s.{column}"
        for column in (
            "first_response_at", "first_response_due", "first_response_breached",
            "first_response_seconds", "resolution_at", "resolution_due", "resolution_breached",
        )
    )  # fmt: skip
    statements = {
        # Each ticket with its SLA clocks (one row a ticket: the clocks' key is the ticket).
        "tickets": (
            "SELECT t.id, t.department_id, t.origin_channel, t.status, t.cloned_by_customer, "  # noqa: S608 - names from _meta
            f"t.created_at, t.solved_at, t.assignee_id, {line}, s.ticket_id IS NOT NULL, "
            f"{targets} FROM {ticket} t LEFT JOIN {sla} s ON s.ticket_id = t.id "
            "WHERE t.id {ids}"
        ),
        # Each reply, flag, merge and rating as (part, ticket, value, time), in one
        # statement ({merged}: the test of the merged tickets' ids).
        "related": (
            f"SELECT 'r', ticket_id, author_user_id, occurred_at FROM {Message._meta.db_table} "  # noqa: S608 - names from _meta
            f"WHERE ticket_id {{ids}} AND direction = '{Direction.OUTBOUND.value}' "
            "AND author_user_id IS NOT NULL "
            "UNION ALL SELECT 'f', ticket_id, NULL, created_at "
            f"FROM {DuplicateFlag._meta.db_table} WHERE ticket_id {{ids}} "
            f"UNION ALL SELECT 'm', ticket_id, id, created_at FROM {TicketEvent._meta.db_table} "
            f"WHERE ticket_id {{merged}} AND kind = '{EventKind.MERGED.value}' "
            f"UNION ALL SELECT 'c', ticket_id, rating, rated_at FROM {Survey._meta.db_table} "
            "WHERE ticket_id {ids} AND rating IS NOT NULL"
        ),
    }
    return statements[name]


def _sla(add: Any, row: list[Any], zone: ZoneInfo) -> None:
    fr_at, fr_due, fr_breached, seconds, res_at, res_due, res_breached = row
    channel = ""  # SLA figures are per line and department, not per channel
    for short, done, due, breached in (
        ("fr", fr_at, fr_due, fr_breached),
        ("res", res_at, res_due, res_breached),
    ):
        if due is None:
            continue  # no target for this ticket
        # A breach counts on the day it was due; a target met, on the day it was met.
        when = due if breached else done
        if when is None:
            continue  # still running, not breached
        day = day_of(aware(when), zone)
        add(day, channel, 0, f"{short}_total")
        add(day, channel, 0, f"{short}_breached" if breached else f"{short}_met")
    if seconds is not None and fr_at is not None:
        add(day_of(aware(fr_at), zone), channel, 0, frt_metric(seconds))


def _adder(state: TicketState):
    def add(day: str, channel: str, agent: int, metric: str, value: int = 1) -> None:
        key: Key = (
            day,
            state.line_id,
            state.department_id,
            channel,
            agent,
            state.excluded,
            metric,
        )
        state.contributions[key] = state.contributions.get(key, 0) + value

    return add


def encode(contributions: dict[Key, int]) -> list[list[Any]]:
    """Return contributions as stored in ``TicketFact.contributions`` (sorted, JSON)."""
    return [[*key, value] for key, value in sorted(contributions.items())]


def decode(stored: list[list[Any]]) -> dict[Key, int]:
    out: dict[Key, int] = defaultdict(int)
    for *key, value in stored or ():
        out[(key[0], key[1], key[2], key[3], key[4], bool(key[5]), key[6])] += value
    return dict(out)
