"""A view's filters as one SQL condition on ``workspace_ticketrow``: the single
definition of what each view shows, used by its pages and by the sidebar's counts.

Hand-written rather than built with the ORM because the sidebar counts every view of an
agent in one statement on each poll: compiling a dozen querysets cost ~0.5 ms of CPU
each, more than PostgreSQL took to count them (bench/desk.py). The conditions are
plain SQL that PostgreSQL and SQLite both run, and are written the way the partial
indexes on ``TicketRow`` are declared (``unsolved``, ``unsolved AND
needs_verification``) so the planner can use them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection

from supportdesk.sql import aware  # noqa: F401 - reads, search and queues take it from here
from tickets.models import Account, Channel, Contact, Department, Status, Tag, Ticket

from .models import TicketRow, TicketRowTag

if TYPE_CHECKING:
    from .queues import ViewFilters

ROWS = TicketRow._meta.db_table
ROW_TAGS = TicketRowTag._meta.db_table
TICKET_TAGS = Ticket.tags.through._meta.db_table
TAGS = Tag._meta.db_table
CONTACTS = Contact._meta.db_table
ACCOUNTS = Account._meta.db_table
DEPARTMENTS = Department._meta.db_table
UNSOLVED = frozenset({Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD})
STATUSES = frozenset(Status.values)
CHANNELS = frozenset(Channel.values)
_WORD = re.compile(r"[a-z_]{1,20}")


def col(name: str) -> str:
    """Return the row table's column, qualified (pages join other tables)."""
    return f'"{ROWS}"."{name}"'


def _literals(values: tuple[Any, ...], allowed: frozenset[str] | None) -> str:
    """Return ``values`` as SQL literals: ids and severities as integers, statuses and
    channels as quoted words only if they are among the ``allowed`` choices (a lower-case
    word, nothing to escape). Nothing a user typed is ever written into SQL: what is not
    an integer or a known choice raises ``ValueError``."""
    if allowed is None:
        return ", ".join(str(int(v)) for v in values)
    for value in values:
        if value not in allowed or not _WORD.fullmatch(value):
            raise ValueError(f"not a known choice: {value!r}")
    return ", ".join(f"'{v}'" for v in values)


def _in(column: str, values: tuple[Any, ...], allowed: frozenset[str] | None = None) -> str:
    # A literal, not a parameter: these columns are skewed (one department holds 70 % of
    # the tickets, another none), and a prepared statement's generic plan is made without
    # its parameters' values, so each department, line, status set and channel needs its
    # own statement text, hence its own plan (workspace/prepared.py). They are few.
    return f"{col(column)} IN ({_literals(values, allowed)})"


def view_where(filters: ViewFilters, user_id: int, now: datetime) -> tuple[str, list[Any], str]:
    """Return the SQL condition (and its parameters) selecting the view's rows, and the
    table it is a condition on, whose ``(due_sort, ticket_id)`` order the view: the rows
    (``ROWS``), or for a working view of a tag that tag's rows (``ROW_TAGS``)."""
    conditions: list[str] = []
    params: list[Any] = []
    stamp = connection.ops.adapt_datetimefield_value(now)
    if filters.statuses:
        conditions.append(_in("status", filters.statuses, STATUSES))
        if set(filters.statuses) <= UNSOLVED:
            conditions.append(col("unsolved"))  # lets the partial indexes serve the view
    else:
        conditions.append(col("unsolved"))
    if filters.assignee == "me":
        conditions.append(f"{col('assignee_id')} = %s")
        params.append(user_id)
    elif filters.assignee == "none":
        conditions.append(f"{col('assignee_id')} IS NULL")
    elif filters.assignee.isdigit():
        # A saved view of one agent's tickets: a literal like a department's (the
        # signed-in agent's own id, above, stays a parameter: one statement for all).
        conditions.append(f"{col('assignee_id')} = {int(filters.assignee)}")
    for column, values, allowed in (
        ("department_id", filters.departments, None),
        ("line_id", filters.lines, None),
        ("origin_channel", filters.channels, CHANNELS),
        ("severity", filters.severities, None),
    ):
        if values:
            conditions.append(_in(column, values, allowed))
    if filters.needs_verification:
        conditions.append(col("needs_verification"))
    if filters.sla == "breached":
        conditions.append(f"{col('due_sort')} <= %s")
        params.append(stamp)
    elif filters.sla == "at_risk":
        # Reached its at-risk moment (see TicketRow.sla_risk_reached), not breached yet.
        conditions.append(f"{col('sla_risk_reached')} AND {col('due_sort')} > %s")
        params.append(stamp)
    if filters.possible_duplicate:
        conditions.append(col("possible_duplicate"))  # see TicketRow.possible_duplicate
    if filters.tags and col("unsolved") in conditions:
        return _tagged_where(filters.tags, conditions, params)
    for tag in filters.tags:
        # A view of solved tickets too (TicketRowTag holds unsolved tickets' tags only).
        # "OR 1 = 0" keeps PostgreSQL from turning the IN into a semi-join of every row
        # to the tag's tickets: as a hashed subplan it filters the due-ordered index
        # scan, which stops at the page's last row.
        conditions.append(
            f'({col("ticket_id")} IN (SELECT tt."ticket_id" FROM "{TICKET_TAGS}" tt '  # noqa: S608
            f'JOIN "{TAGS}" tg ON tg."id" = tt."tag_id" WHERE tg."name" = %s) OR 1 = 0)'
        )
        params.append(tag)
    return " AND ".join(conditions), params, ROWS


def _tag_id(alias: str) -> str:
    return f'{alias}."tag_id" = (SELECT "id" FROM "{TAGS}" WHERE "name" = %s)'  # noqa: S608


def _tagged_where(
    tags: tuple[str, ...], conditions: list[str], params: list[Any]
) -> tuple[str, list[Any], str]:
    """A working view of tags as a condition on the first tag's ``TicketRowTag`` rows:
    that tag's range of the ``(tag, due_sort, ticket)`` index, walked in due order.

    The view's other filters (on its ``TicketRow``) are checked per tag row, the row read
    by key, so the walk stops at the page's last row and reads at most the tag's rows: as
    a join (or an EXISTS, which PostgreSQL may hash) it hashed every unassigned row for a
    tag's unassigned tickets (14.6 ms at 1,000,000). Further tags are a subplan over their
    own tag rows ("OR 1 = 0": not a semi-join). Tag names are parameters (someone typed
    them), each looked up once per statement.
    """
    key = f'"{ROW_TAGS}"'
    where = [_tag_id(key)]
    values: list[Any] = [tags[0]]
    for tag in tags[1:]:
        where.append(
            f'(EXISTS (SELECT 1 FROM "{ROW_TAGS}" o WHERE o."ticket_id" = {key}."ticket_id" '  # noqa: S608
            f"AND {_tag_id('o')}) OR 1 = 0)"
        )
        values.append(tag)
    # TicketRowTag holds unsolved tickets only: "unsolved" alone needs no row.
    rest = [c for c in conditions if c != col("unsolved")]
    if rest:
        # The row's own verdict, a scalar subquery: never hashed, unlike EXISTS (...).
        where.append(
            f'(SELECT {" AND ".join(rest)} FROM "{ROWS}" '  # noqa: S608
            f'WHERE {col("ticket_id")} = {key}."ticket_id")'
        )
    return " AND ".join(where), values + params, ROW_TAGS


# A moment no view's filters name: where view_where puts "now", found again in its
# parameters by cached_where.
_NOW_MARK = datetime(1970, 1, 1, 0, 0, 0, 123457, tzinfo=UTC)


@lru_cache(maxsize=1024)
def _where_of(
    filters: ViewFilters, user_id: int, vendor: str
) -> tuple[str, tuple[Any, ...], tuple[int, ...], str]:
    where, params, table = view_where(filters, user_id, _NOW_MARK)
    mark = connection.ops.adapt_datetimefield_value(_NOW_MARK)
    return where, tuple(params), tuple(i for i, p in enumerate(params) if p == mark), table


def cached_where(filters: ViewFilters, user_id: int, now: datetime) -> tuple[str, list[Any], str]:
    """``view_where``, its SQL built once per filters and agent (the sidebar's counts
    ask for every view on every poll); only the moment changes per call."""
    where, params, slots, table = _where_of(filters, user_id, connection.vendor)
    values = list(params)
    if slots:
        stamp = connection.ops.adapt_datetimefield_value(now)
        for i in slots:
            values[i] = stamp
    return where, values, table


def count_sql(
    wheres: list[tuple[str, list[Any], str]], cap: int, next_due: datetime | None = None
) -> tuple[str, list[Any]]:
    """Return one statement counting, for each condition (on its table, ``view_where``),
    its rows up to ``cap``; with ``next_due`` (a moment) also, last, the earliest due of
    an unsolved row after it (one probe of the unsolved rows' due index)."""
    parts, params = [], []
    for index, (where, values, table) in enumerate(wheres):
        parts.append(
            f'(SELECT COUNT(*) FROM (SELECT 1 FROM "{table}" WHERE {where} '  # noqa: S608
            f"LIMIT {int(cap)}) AS c{index})"
        )
        params += values
    if next_due is not None:
        parts.append(
            f'(SELECT MIN({col("due_sort")}) FROM "{ROWS}" '  # noqa: S608
            f"WHERE {col('unsolved')} AND {col('due_sort')} > %s)"
        )
        params.append(connection.ops.adapt_datetimefield_value(next_due))
    return "SELECT " + ", ".join(parts), params


def page_sql(
    where: str,
    params: list[Any],
    after: tuple[datetime, int] | None,
    limit: int,
    *,
    table: str = ROWS,
    keys_first: bool = False,
    micros: bool = False,
) -> tuple[str, list[Any]]:
    """Return the statement reading one page of rows with the names it shows: the page's
    rows first (an index range of ``table``, the one ``view_where`` gave, ``after`` a
    cursor), then the joins for those rows only. Columns in ``queues.ListRow`` order.

    A view of tag rows (``ROW_TAGS``) finds its page's ``(due_sort, ticket_id)`` there
    first and only then reads those rows by key. ``keys_first`` does the same on the rows
    table, for a view of solved tickets' tags: a tag's condition there needs nothing but
    ``ticket_id``, which the due index holds, so the scan that passes over the untagged
    rows is index-only instead of a heap visit for each.

    ``micros`` (PostgreSQL): the three moments as whole microseconds since 1970
    (``queues.PageRow``); EXTRACT gives an exact numeric since PostgreSQL 14, the
    oldest Django 5.2 supports."""
    params = list(params)
    due_key, id_key = f'"{table}"."due_sort"', f'"{table}"."ticket_id"'
    if after is not None:
        due, ticket_id = after
        stamp = connection.ops.adapt_datetimefield_value(due)
        # The redundant ``due_sort >= due`` lets the index range start at the cursor.
        where += f" AND {due_key} >= %s AND ({due_key} > %s OR ({due_key} = %s AND {id_key} > %s))"
        params += [stamp, stamp, stamp, ticket_id]
    users = get_user_model()._meta.db_table
    if keys_first or table != ROWS:
        rows = (
            f'(SELECT {id_key}, {due_key} FROM "{table}" WHERE {where} '  # noqa: S608
            f"ORDER BY {due_key}, {id_key} LIMIT {int(limit)}) k "
            f'JOIN "{ROWS}" r ON r.ticket_id = k.ticket_id '
        )
    else:
        rows = (
            f'(SELECT * FROM "{ROWS}" WHERE {where} '  # noqa: S608
            f'ORDER BY "due_sort", "ticket_id" LIMIT {int(limit)}) r '
        )
    moments = ", ".join(
        f"CAST(EXTRACT(EPOCH FROM r.{name}) * 1000000 AS BIGINT)" if micros else f"r.{name}"
        for name in ("sla_due", "due_sort", "last_activity_at")
    )
    sql = (
        "SELECT r.ticket_id, r.number, r.subject, r.status, r.severity, r.origin_channel, "  # noqa: S608
        f"r.needs_verification, {moments}, r.assignee_id, "
        "u.first_name, u.last_name, u.username, c.name, a.name, d.name "
        f"FROM {rows}"
        f'LEFT JOIN "{users}" u ON u.id = r.assignee_id '
        f'LEFT JOIN "{CONTACTS}" c ON c.id = r.contact_id '
        f'LEFT JOIN "{ACCOUNTS}" a ON a.id = r.account_id '
        f'LEFT JOIN "{DEPARTMENTS}" d ON d.id = r.department_id '
        "ORDER BY r.due_sort, r.ticket_id"
    )
    return sql, params
