"""What one ticket contributes to the daily figures, read from the tickets, SLA clocks,
duplicate flags and satisfaction ratings in a fixed number of queries for many tickets.

Days are dates in the report zone (``SUPPORTDESK_REPORT_TIME_ZONE``). A ticket is
counted with its dimensions as they are now (a ticket moved to another department moves
its figures with it), and marked ``excluded`` when it is cloned by the customer or merged.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings

from csat.models import Survey
from duplicates.models import DuplicateFlag
from sla.models import TicketSla
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
    """Return the state of each existing ticket of ``ticket_ids``."""
    zone = report_zone()
    fields = [
        "pk", "department_id", "origin_channel", "status", "cloned_by_customer",
        "created_at", "solved_at", "assignee_id",
    ]  # fmt: skip
    if HAS_LINE:
        fields.append("line_id")
    states: dict[int, TicketState] = {}
    channels: dict[int, str] = {}
    for row in Ticket.objects.filter(pk__in=ticket_ids).values(*fields):
        pk = row["pk"]
        state = TicketState(
            line_id=row.get("line_id") or 0,
            department_id=row["department_id"],
            status=row["status"],
            assignee_id=row["assignee_id"] or 0,
            created_at=row["created_at"],
            excluded=bool(row["cloned_by_customer"]) or row["status"] == Status.MERGED,
        )
        channels[pk] = row["origin_channel"]
        add = _adder(state)
        add(day_of(row["created_at"], zone), row["origin_channel"], 0, "created")
        if row["solved_at"] and row["status"] in (Status.SOLVED, Status.CLOSED):
            solved_day = day_of(row["solved_at"], zone)
            add(solved_day, row["origin_channel"], 0, "solved")
            if state.assignee_id:
                add(solved_day, "", state.assignee_id, "solved_by")
        states[pk] = state
    if not states:
        return states
    ids = list(states)
    _sla(states, ids, zone)
    for ticket_id, agent, when in Message.objects.filter(
        ticket_id__in=ids, direction=Direction.OUTBOUND, author_user__isnull=False
    ).values_list("ticket_id", "author_user_id", "occurred_at"):
        _adder(states[ticket_id])(day_of(when, zone), "", agent, "replies")
    for ticket_id, when in DuplicateFlag.objects.filter(ticket_id__in=ids).values_list(
        "ticket_id", "created_at"
    ):
        _adder(states[ticket_id])(day_of(when, zone), "", 0, "dup_flagged")
    merged = {
        ticket_id: when
        for ticket_id, when in TicketEvent.objects.filter(
            ticket_id__in=[pk for pk, s in states.items() if s.status == Status.MERGED],
            kind=EventKind.MERGED,
        )
        .order_by("ticket_id", "pk")
        .values_list("ticket_id", "created_at")
    }
    for ticket_id, when in merged.items():  # the latest merge (the one that holds)
        _adder(states[ticket_id])(day_of(when, zone), "", 0, "merged")
    for ticket_id, rating, rated_at in Survey.objects.filter(
        ticket_id__in=ids, rating__isnull=False
    ).values_list("ticket_id", "rating", "rated_at"):
        if rated_at is not None:  # always: set with the rating
            _adder(states[ticket_id])(day_of(rated_at, zone), "", 0, f"csat_{rating}")
    return states


def _sla(states: dict[int, TicketState], ids: list[int], zone: ZoneInfo) -> None:
    rows = TicketSla.objects.filter(ticket_id__in=ids).values(
        "ticket_id",
        "first_response_at",
        "first_response_due",
        "first_response_breached",
        "first_response_seconds",
        "resolution_at",
        "resolution_due",
        "resolution_breached",
    )
    for row in cast(Iterable[dict[str, Any]], rows):  # read by target name below
        add = _adder(states[row["ticket_id"]])
        channel = ""  # SLA figures are per line and department, not per channel
        for target, short in (("first_response", "fr"), ("resolution", "res")):
            done, due, breached = (
                row[f"{target}_at"],
                row[f"{target}_due"],
                row[f"{target}_breached"],
            )
            if due is None:
                continue  # no target for this ticket
            # A breach counts on the day it was due; a target met, on the day it was met.
            when = due if breached and due is not None else done
            if when is None:
                continue  # still running, not breached
            day = day_of(when, zone)
            add(day, channel, 0, f"{short}_total")
            add(day, channel, 0, f"{short}_breached" if breached else f"{short}_met")
        seconds = row["first_response_seconds"]
        if seconds is not None and row["first_response_at"] is not None:
            add(day_of(row["first_response_at"], zone), channel, 0, frt_metric(seconds))


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
