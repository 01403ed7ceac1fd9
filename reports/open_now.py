"""What is open right now, for the dashboards' backlog (by status and age) and per-agent
load (``OpenFigure``), kept with the facts in their transaction. Each open ticket counts
in two rows: its line, department, status and hour created (the backlog; assignee
``ANY_AGENT``), and its line, department and assignee (the load; hour ``NO_HOUR``), so
neither figure groups more rows than it shows.

At 1,000,000 tickets, counting the open tickets' facts took ~70 ms per figure; these
rows are a few thousand at most (the open tickets' hours), whatever the history's size.
Ages stay exact: an hour that an age boundary (now − 1, 3, 7, 30 days) cuts through is
counted from the facts of those tickets alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Q, Sum, Value, When

from .models import UNSOLVED, OpenFigure, TicketFact

OpenKey = tuple[int, int, str, int, datetime]  # line, department, status, assignee, hour
HOUR = timedelta(hours=1)
CHUNK = 500
ANY_AGENT = -1  # a backlog row: all assignees
NO_HOUR = datetime(1970, 1, 1, tzinfo=UTC)  # a load row: any hour created


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def open_keys(
    line_id: int,
    department_id: int,
    status: str,
    assignee_id: int,
    created_at: datetime | None,
    excluded: bool,
) -> tuple[OpenKey, ...]:
    """Return the open-figure keys a ticket in this state counts in: none when it is not
    open (solved, closed, merged, or cloned by the customer)."""
    if status not in UNSOLVED or excluded or created_at is None:
        return ()
    return (
        (line_id, department_id, status, ANY_AGENT, hour_of(created_at)),
        (line_id, department_id, "", assignee_id, NO_HOUR),
    )


def open_keys_of(ticket: Any) -> tuple[OpenKey, ...]:
    """Return the keys of a fact or a ticket state (the same attributes)."""
    return open_keys(
        ticket.line_id,
        ticket.department_id,
        ticket.status,
        ticket.assignee_id,
        ticket.created_at,
        ticket.excluded,
    )


def open_add(delta: dict[OpenKey, int]) -> None:
    """Add ``delta`` to the open figures (in key order, so two writers never wait for each
    other in a circle) and delete the rows it brought to zero."""
    keys = sorted(k for k, v in delta.items() if v)
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(keys), CHUNK):
        part = keys[start : start + CHUNK]
        params: list = []
        for key in part:
            line, department, status, assignee, hour = key
            params += [line, department, status, assignee, adapt(hour), delta[key]]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(part))
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO reports_openfigure (line_id, department_id, status, assignee_id, "  # noqa: S608 - placeholders only
                f"created_hour, value) VALUES {values} ON CONFLICT (line_id, department_id, "
                "status, assignee_id, created_hour) DO UPDATE SET "
                "value = reports_openfigure.value + EXCLUDED.value RETURNING id, value",
                params,
            )
            # Only rows this transaction holds locked: no waiting on another writer's.
            zeros = [pk for pk, value in cursor.fetchall() if value == 0]
        if zeros:
            OpenFigure.objects.filter(pk__in=zeros, value=0).delete()


def open_rebuild() -> int:
    """Recount the open figures from the facts (a full rebuild, the beat's safety net);
    return how many rows. The caller holds the rebuild lock."""
    counts: Counter[OpenKey] = Counter()
    rows = TicketFact.objects.filter(status__in=UNSOLVED, excluded=False).values_list(
        "line_id", "department_id", "status", "assignee_id", "created_at"
    )
    for line, department, status, assignee, created in rows.iterator(chunk_size=5000):
        counts.update(open_keys(line, department, status, assignee, created, False))
    with transaction.atomic():
        OpenFigure.objects.all().delete()
        OpenFigure.objects.bulk_create(
            [
                OpenFigure(
                    line_id=k[0],
                    department_id=k[1],
                    status=k[2],
                    assignee_id=k[3],
                    created_hour=k[4],
                    value=v,
                )
                for k, v in sorted(counts.items())
            ],
            batch_size=1000,
        )
    return len(counts)


def open_by_status_and_age(
    scope: Q, now: datetime, buckets: Iterable[tuple[str, int | None]]
) -> dict[str, dict[str, int]]:
    """Return the open tickets of ``scope`` per status and age bucket at ``now``: whole
    hours from the figures, the hours an age boundary cuts through from the facts."""
    buckets = list(buckets)
    edges = [now - timedelta(days=upper) for _key, upper in buckets if upper]
    cut = {hour_of(edge) for edge in edges}  # hours with tickets on both sides of an edge
    keys = [key for key, _upper in buckets]
    counts: dict[str, dict[str, int]] = {s: dict.fromkeys(keys, 0) for s in UNSOLVED}

    # Summed per status and bucket by the database, in one statement: the hours no edge
    # falls inside from the figures (such an hour is younger than an edge exactly when it
    # starts after the edge's hour), the hours an edge cuts from those tickets' facts.
    def by_bucket(column: str, edge_of) -> Case:
        whens = [
            When(**{f"{column}__gt": edge_of(now - timedelta(days=upper))}, then=Value(key))
            for key, upper in buckets
            if upper
        ]
        return Case(*whens, default=Value(keys[-1]), output_field=CharField())

    whole = (
        OpenFigure.objects.filter(scope, assignee_id=ANY_AGENT)
        .exclude(created_hour__in=cut)
        .annotate(bucket=by_bucket("created_hour", hour_of))
        .values_list("status", "bucket")
        .annotate(total=Sum("value"))
        .order_by()
    )
    within = Q()
    for hour in cut:
        within |= Q(created_at__gte=hour, created_at__lt=hour + HOUR)
    split = (
        TicketFact.objects.filter(scope, within, status__in=UNSOLVED, excluded=False)
        .annotate(bucket=by_bucket("created_at", lambda edge: edge))
        .values_list("status", "bucket")
        .annotate(total=Count("pk"))
        .order_by()
    )
    for status, key, total in whole.union(split, all=True):
        if status in counts:
            counts[status][key] += total
    return counts


def open_per_assignee(scope: Q) -> dict[int, int]:
    """Return the open tickets of ``scope`` per assignee (the unassigned left out)."""
    rows = (
        OpenFigure.objects.filter(scope, created_hour=NO_HOUR)
        .exclude(assignee_id=0)
        .values_list("assignee_id")
        .annotate(total=Sum("value"))
        .order_by()
    )
    return {assignee: total for assignee, total in rows if total}
