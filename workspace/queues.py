"""The workspace's lists: built-in and saved views, their rows (keyset pages) and counts.

Every view is a filter on ``TicketRow`` ordered by ``(due_sort, ticket_id)``; the partial
indexes on that table (see its Meta) make each built-in view one index range scan, and a
page after a cursor starts the scan at the cursor instead of skipping rows (no OFFSET).
Counts are bounded: a view with more than ``COUNT_CAP`` tickets shows "99+", and all
counts of the sidebar come from one SQL statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection, connections
from django.utils.translation import gettext_lazy as _

from supportdesk.db_router import replica_alias
from tickets.models import Channel, Department, Severity, Status, SupportLine, Tag, Ticket

from . import memo, view_sql
from .models import SavedView, TicketRow

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PAGE_SIZE = 50
COUNT_CAP = 99
WORKING_STATUSES = (
    Status.NEW,
    Status.OPEN,
    Status.PENDING_CUSTOMER,
    Status.ON_HOLD,
    Status.SOLVED,
)
COLUMNS = {
    "due": _("SLA due"),
    "channel": _("Channel"),
    "customer": _("Customer"),
    "account": _("Account"),
    "activity": _("Last activity"),
    "status": _("Status"),
    "assignee": _("Assignee"),
    "severity": _("Severity"),
    "department": _("Department"),
    "tags": _("Tags"),
}
DEFAULT_COLUMNS = ("due", "channel", "customer", "account", "activity", "status", "assignee")


@dataclass(frozen=True)
class ViewFilters:
    """What a view shows. Empty fields filter nothing; no statuses means *unsolved*."""

    statuses: tuple[str, ...] = ()
    assignee: str = ""  # "me", "none" or an agent id
    departments: tuple[int, ...] = ()
    lines: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    severities: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    sla: str = ""  # "at_risk" or "breached"
    needs_verification: bool = False
    possible_duplicate: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ViewFilters:
        """Return the filters stored in a saved view, dropping what is not valid (any more)."""

        def ints(key: str) -> tuple[int, ...]:
            return tuple(int(v) for v in data.get(key) or () if str(v).isdigit())

        return cls(
            statuses=tuple(s for s in data.get("statuses") or () if s in WORKING_STATUSES),
            assignee=str(data.get("assignee") or ""),
            departments=ints("departments"),
            lines=ints("lines"),
            channels=tuple(c for c in data.get("channels") or () if c in Channel.values),
            severities=tuple(s for s in ints("severities") if s in Severity.values),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            sla=str(data.get("sla")) if data.get("sla") in ("at_risk", "breached") else "",
            needs_verification=bool(data.get("needs_verification")),
            possible_duplicate=bool(data.get("possible_duplicate")),
        )

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class View:
    """A list in the sidebar: a key for its URL, a label, filters and columns."""

    key: str
    label: StrOrPromise
    filters: ViewFilters
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    group: str = "builtin"  # builtin | department | line | saved
    saved_id: int | None = None  # a saved view's id and owner
    owner_id: int | None = None


def builtin_views() -> list[View]:
    return [
        View("mine", _("Mine"), ViewFilters(assignee="me")),
        View("unassigned", _("Unassigned"), ViewFilters(assignee="none")),
        View("at-risk", _("At risk"), ViewFilters(sla="at_risk")),
        View("breached", _("Breached"), ViewFilters(sla="breached")),
        View("pending", _("Pending customer"), ViewFilters(statuses=(Status.PENDING_CUSTOMER,))),
        View("duplicates", _("Possible duplicates"), ViewFilters(possible_duplicate=True)),
        View("verification", _("Needs verification"), ViewFilters(needs_verification=True)),
    ]


# The sidebar is read on every workspace page and poll: plain SQL, no model instances
# (see workspace/view_sql.py for why). Names come from the models' metadata.
DEPARTMENTS_SQL = (
    f'SELECT "id", "slug", "name" FROM "{Department._meta.db_table}" '  # noqa: S608
    'WHERE "is_active" ORDER BY "name", "id"'
)
# The sidebar's department and line views, one statement for both.
GROUPS_SQL = (
    f'SELECT \'department\', "id", "slug", "name" FROM "{Department._meta.db_table}" '  # noqa: S608
    'WHERE "is_active" UNION ALL '
    f'SELECT \'line\', "id", "slug", "name" FROM "{SupportLine._meta.db_table}" '
    "ORDER BY 1, 4, 2"
)
SAVED_VIEWS_SQL = (
    'SELECT "id", "name", "owner_id", "filters", "columns" '  # noqa: S608
    f'FROM "{SavedView._meta.db_table}" WHERE "owner_id" = %s OR "shared" '
    'ORDER BY "position", "name", "id"'
)


# What a list page and the counts read for the sidebar and the bulk bar, in one
# statement: departments, lines, the agent's and the shared saved views and (``agents``)
# the active agents. One shape for all: kind, id, then four texts and a sort number.
_TEXT = "CAST(NULL AS TEXT)"
SIDEBAR_SQL = (
    f'SELECT \'department\', "id", "slug", "name", {_TEXT}, {_TEXT}, 0 '  # noqa: S608
    f'FROM "{Department._meta.db_table}" WHERE "is_active" UNION ALL '
    f'SELECT \'line\', "id", "slug", "name", {_TEXT}, {_TEXT}, 0 '
    f'FROM "{SupportLine._meta.db_table}" UNION ALL '
    'SELECT \'saved\', "id", "name", CAST("owner_id" AS TEXT), '
    'CAST("filters" AS TEXT), CAST("columns" AS TEXT), '
    'ROW_NUMBER() OVER (ORDER BY "position", "name", "id") '
    f'FROM "{SavedView._meta.db_table}" WHERE "owner_id" = %s OR "shared" '
)
AGENTS_PART = (
    'UNION ALL SELECT \'user\', "id", "first_name", "last_name", "username", '  # noqa: S608
    f'{_TEXT}, ROW_NUMBER() OVER (ORDER BY "username") '
    f'FROM "{get_user_model()._meta.db_table}" WHERE "is_active" AND "is_staff" '
)

# The read model's version (workspace/counts.py; migration 0010's sequence), in the same
# shape: 0 until the first change (a new sequence's last_value is 1 before nextval gives 1).
COUNTS_SEQUENCE = "workspace_counts_version"
VERSION_PART = (
    "UNION ALL SELECT 'version', CASE WHEN is_called THEN last_value ELSE 0 END, "  # noqa: S608
    f"{_TEXT}, {_TEXT}, {_TEXT}, {_TEXT}, 0 FROM {COUNTS_SEQUENCE} "
)


class Sidebar(NamedTuple):
    """One read of what the sidebar's views and the bulk bar are made of."""

    groups: Groups
    views: list[View]
    agents: list[tuple[int, str]]  # (id, name) of the active agents by username; [] if not read
    version: int | None = None  # the read model's (workspace.counts), if asked for and kept


def sidebar(user: User, *, agents: bool = False, version: bool = False) -> Sidebar:
    """Return the agent's views (as ``agent_views``), their departments and lines, and
    with ``agents`` the active agents, from one statement; with ``version`` also the
    read model's version (``workspace.counts``; None without PostgreSQL)."""
    version = version and connection.vendor == "postgresql"
    sql = SIDEBAR_SQL + (AGENTS_PART if agents else "") + (VERSION_PART if version else "")
    with connection.cursor() as cursor:
        cursor.execute(sql + "ORDER BY 1, 7, 4, 2", [user.pk])
        rows = tuple(cursor.fetchall())
    found = None
    if version:
        # The last row ("version" sorts after the other kinds); not part of what
        # _sidebar_of keeps: it moves with every ticket change.
        found, rows = int(rows[-1][1]), rows[:-1]
    # Copies: the kept lists are shared by every request with the same rows.
    groups, views, users, _v = _sidebar_of(rows, memo.language())
    return Sidebar(
        Groups(list(groups.departments), list(groups.lines)), list(views), list(users), found
    )


# The rows are read on every request; what they make (View objects, filters decoded from
# JSON, line labels formatted in the language) is the same for the same rows and
# language: kept per distinct rows and language.
@lru_cache(maxsize=256)
def _sidebar_of(rows: tuple[tuple[Any, ...], ...], language: str | None) -> Sidebar:
    groups: Groups = Groups([], [])
    saved: list[View] = []
    users: list[tuple[int, str]] = []
    for kind, pk, a, b, c, d, _n in rows:
        if kind == "department":
            groups.departments.append((pk, a, b))
        elif kind == "line":
            groups.lines.append((pk, a, b))
        elif kind == "saved":
            saved.append(saved_view(pk, a, int(b), _json(c), _json(d)))
        else:
            users.append((pk, f"{a} {b}".strip() or c))
    # Labels as text in this language (kept per language): the counts' poll shows them.
    views = [replace(v, label=str(v.label)) for v in _group_views(groups)]
    return Sidebar(groups, views + saved, users)


def active_departments() -> list[tuple[int, str, str]]:
    """Return (id, slug, name) of the active departments, by name."""
    with connection.cursor() as cursor:
        cursor.execute(DEPARTMENTS_SQL)
        return list(cursor.fetchall())


class Groups(NamedTuple):
    """The active departments and the support lines, (id, slug, name) each, by name."""

    departments: list[tuple[int, str, str]]
    lines: list[tuple[int, str, str]]


def view_groups() -> Groups:
    """Return what the per-department and per-line views are made of (one query)."""
    groups = Groups([], [])
    with connection.cursor() as cursor:
        cursor.execute(GROUPS_SQL)
        for kind, pk, slug, name in cursor.fetchall():
            (groups.lines if kind == "line" else groups.departments).append((pk, slug, name))
    return groups


def agent_views(user: User, groups: Groups | None = None) -> list[View]:
    """Return every view the agent's sidebar lists: built-in, per department and per
    support line, then the agent's own and the shared saved views (``groups``: the
    caller's ``view_groups()``, if it read them already)."""
    views = _group_views(view_groups() if groups is None else groups)
    with connection.cursor() as cursor:
        cursor.execute(SAVED_VIEWS_SQL, [user.pk])
        for pk, name, owner_id, filters, columns in cursor.fetchall():
            views.append(saved_view(pk, name, owner_id, _json(filters), _json(columns)))
    return views


def _group_views(groups: Groups) -> list[View]:
    """The built-in views, then one per department and one per support line."""
    views = builtin_views()
    for pk, slug, name in groups.departments:
        views.append(View(f"dept-{slug}", name, ViewFilters(departments=(pk,)), group="department"))
    for pk, slug, name in groups.lines:
        label = _("Line: %(name)s") % {"name": name}
        views.append(View(f"line-{slug}", label, ViewFilters(lines=(pk,)), group="line"))
    return views


def _json(value: Any) -> Any:
    # JSON columns come back as text from a plain cursor (Django decodes them itself).
    return json.loads(value) if isinstance(value, str | bytes) else value


def saved_view(
    pk: int, name: str, owner_id: int, filters: dict[str, Any] | None, columns: list[str] | None
) -> View:
    """Return the View of a saved view's stored name, filters and columns."""
    shown = tuple(c for c in columns or () if c in COLUMNS) or DEFAULT_COLUMNS
    return View(
        f"saved-{pk}",
        name,
        ViewFilters.from_json(filters or {}),
        columns=shown,
        group="saved",
        saved_id=pk,
        owner_id=owner_id,
    )


class ListRow(NamedTuple):
    """One line of a list: the row's columns and the names it shows, from one query."""

    ticket_id: int
    number: int
    subject: str
    status: str
    severity: int
    origin_channel: str
    needs_verification: bool
    sla_due: datetime | None
    due_sort: datetime
    last_activity_at: datetime
    assignee_id: int | None
    assignee_first_name: str | None
    assignee_last_name: str | None
    assignee_username: str | None
    contact_name: str | None
    account_name: str | None
    department_name: str


class PageRow(NamedTuple):
    """A ``ListRow`` as a list page reads it: its three moments as whole microseconds
    since 1970 (UTC). What a page does with most rows is look up their kept HTML
    (workspace/listing.py), keyed by the row: psycopg2's parsing of 150 timestamps a page
    and the hashing of aware datetimes were ~0.3 ms of a list page's CPU, integers ~0.
    ``list_row`` makes the ``ListRow`` of a row that is rendered."""

    ticket_id: int
    number: int
    subject: str
    status: str
    severity: int
    origin_channel: str
    needs_verification: bool
    sla_due_us: int | None
    due_sort_us: int
    last_activity_us: int
    assignee_id: int | None
    assignee_first_name: str | None
    assignee_last_name: str | None
    assignee_username: str | None
    contact_name: str | None
    account_name: str | None
    department_name: str


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def moment(us: int) -> datetime:
    """The aware (UTC) moment ``us`` microseconds after 1970: exact, as PostgreSQL has it."""
    return _EPOCH + timedelta(microseconds=us)


def micros(value: datetime) -> int:
    """``value`` (aware) as whole microseconds since 1970: exact, ``moment``'s inverse."""
    return (value - _EPOCH) // _MICROSECOND


def list_row(row: PageRow) -> ListRow:
    """The ``ListRow`` of a page's row (its moments as datetimes)."""
    due = row.sla_due_us
    return ListRow._make(
        (
            *row[:7],
            None if due is None else moment(due),
            moment(row.due_sort_us),
            moment(row.last_activity_us),
            *row[10:],
        )
    )


def encode_cursor(row: TicketRow | ListRow) -> str:
    return f"{row.due_sort.isoformat()}_{row.ticket_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """Return the (due, ticket id) a cursor stands for; None for none (or a mangled one:
    the first page)."""
    stamp, _sep, pk = (cursor or "").rpartition("_")
    try:
        return datetime.fromisoformat(stamp), int(pk)
    except ValueError:
        return None


def page(
    filters: ViewFilters, user: User, now: datetime, cursor: str = ""
) -> tuple[list[ListRow], str]:
    """Return one page of rows (with the contact's, account's, assignee's and
    department's names) and the cursor of the next page ("" on the last one)."""
    rows, next_cursor = page_rows(filters, user, now, cursor)
    return [list_row(row) for row in rows], next_cursor


def page_rows(
    filters: ViewFilters, user: User, now: datetime, cursor: str = ""
) -> tuple[list[PageRow], str]:
    """``page``, its rows as ``PageRow`` (moments in microseconds), as a list page
    reads them."""
    where, params, table = view_sql.view_where(filters, user.pk, now)
    postgresql = connection.vendor == "postgresql"
    sql, params = view_sql.page_sql(
        where,
        params,
        decode_cursor(cursor),
        PAGE_SIZE + 1,
        table=table,
        keys_first=bool(filters.tags),
        micros=postgresql,
    )
    with connection.cursor() as db:
        db.execute(sql, params)
        found = db.fetchall()
    if postgresql:
        # psycopg2 gives booleans already, and the moments as integers (micros=True).
        rows = list(map(PageRow._make, found))
    else:
        aware = view_sql.aware
        rows = [
            PageRow._make(
                (
                    *r[:6],
                    bool(r[6]),
                    None if r[7] is None else micros(aware(r[7])),
                    micros(aware(r[8])),
                    micros(aware(r[9])),
                    *r[10:],
                )
            )
            for r in found
        ]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, encode_cursor(list_row(rows[-1])) if more and rows else ""


def row_tags(ticket_ids: Iterable[int]) -> dict[int, list[str]]:
    """Return the tag names of each ticket, in one query (plain SQL: the ORM's query
    took a third of a tag-column list page's Python)."""
    ids = [int(pk) for pk in ticket_ids]
    if not ids:
        return {}
    out: dict[int, list[str]] = {}
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(ROW_TAGS_SQL.format(marks=marks), ids)
        for ticket_id, name in cursor.fetchall():
            out.setdefault(ticket_id, []).append(name)
    return out


ROW_TAGS_SQL = (
    f'SELECT tt."ticket_id", tg."name" FROM "{Ticket.tags.through._meta.db_table}" tt '  # noqa: S608
    f'JOIN "{Tag._meta.db_table}" tg ON tg."id" = tt."tag_id" '
    'WHERE tt."ticket_id" IN ({marks}) ORDER BY tg."name"'
)


def bounded_counts(views: list[View], user: User, now: datetime) -> dict[str, int]:
    """Return each view's ticket count, at most ``COUNT_CAP + 1`` (shown as "99+"),
    all from one SQL statement."""
    return bounded_counts_until(views, user, now)[0]


def bounded_counts_until(
    views: list[View], user: User, now: datetime, *, timed: bool = False
) -> tuple[dict[str, int], datetime | None]:
    """``bounded_counts``, and with ``timed`` (in the same statement) the next moment
    after ``now`` a count can change with time alone: the earliest due of an unsolved
    row after ``now`` (None: none, or not ``timed``)."""
    if not views:
        return {}, None
    user_id = user.pk
    wheres = [view_sql.cached_where(view.filters, user_id, now) for view in views]
    sql, params = view_sql.count_sql(wheres, COUNT_CAP + 1, next_due=now if timed else None)
    # List counts tolerate a few seconds of lag: the read replica when there is one.
    with connections[replica_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        values = cursor.fetchone()
    until = view_sql.aware(values[-1]) if timed else None
    counts = {view.key: int(n) for view, n in zip(views, values[: len(views)], strict=True)}
    return counts, until
