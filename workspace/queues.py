"""The workspace's lists: built-in and saved views, their rows (keyset pages) and counts.

Every view is a filter on ``TicketRow`` ordered by ``(due_sort, ticket_id)``; the partial
indexes on that table (see its Meta) make each built-in view one index range scan, and a
page after a cursor starts the scan at the cursor instead of skipping rows (no OFFSET).
Counts are bounded: a view with more than ``COUNT_CAP`` tickets shows "1000+", and all
counts of the sidebar come from one SQL statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from duplicates.models import DuplicateFlag, FlagStatus
from supportdesk.db_router import replica_alias
from tickets.models import Channel, Department, Severity, Status, Ticket

from .models import SavedView, TicketRow

PAGE_SIZE = 50
COUNT_CAP = 1000
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
            sla=data.get("sla") if data.get("sla") in ("at_risk", "breached") else "",
            needs_verification=bool(data.get("needs_verification")),
            possible_duplicate=bool(data.get("possible_duplicate")),
        )

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class View:
    """A list in the sidebar: a key for its URL, a label, filters and columns."""

    key: str
    label: str
    filters: ViewFilters
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    group: str = "builtin"  # builtin | department | line | saved
    saved: SavedView | None = field(default=None, compare=False)


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


def agent_views(user: AbstractBaseUser) -> list[View]:
    """Return every view the agent's sidebar lists: built-in, per department and line,
    then the agent's own and the shared saved views."""
    views = builtin_views()
    for department in Department.objects.filter(is_active=True).order_by("name"):
        views.append(
            View(
                f"dept-{department.slug}",
                department.name,
                ViewFilters(departments=(department.pk,)),
                group="department",
            )
        )
    views += line_views()
    for saved in SavedView.objects.filter(Q(owner=user) | Q(shared=True)).order_by(
        "position", "name", "id"
    ):
        views.append(saved_view(saved))
    return views


def line_views() -> list[View]:
    """One view per support line, once tickets have lines (the ``lines`` app)."""
    try:
        from django.apps import apps

        line_model = apps.get_model("lines", "SupportLine")
    except LookupError:
        return []
    return [
        View(f"line-{line.pk}", str(line), ViewFilters(lines=(line.pk,)), group="line")
        for line in line_model.objects.all()
    ]


def saved_view(saved: SavedView) -> View:
    columns = tuple(c for c in saved.columns or () if c in COLUMNS) or DEFAULT_COLUMNS
    return View(
        f"saved-{saved.pk}",
        saved.name,
        ViewFilters.from_json(saved.filters or {}),
        columns=columns,
        group="saved",
        saved=saved,
    )


def view_rows(filters: ViewFilters, user: AbstractBaseUser, now: datetime) -> QuerySet[TicketRow]:
    """Return the view's rows, ordered by SLA due (no due last), then ticket id."""
    if filters.statuses:
        qs = TicketRow.objects.filter(status__in=filters.statuses)
        if set(filters.statuses) <= set(WORKING_STATUSES) - {Status.SOLVED}:
            qs = qs.filter(unsolved=True)  # lets the partial indexes serve the view
    else:
        qs = TicketRow.objects.filter(unsolved=True)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee == "none":
        qs = qs.filter(assignee_id__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.departments:
        qs = qs.filter(department_id__in=filters.departments)
    if filters.lines:
        qs = qs.filter(line_id__in=filters.lines)
    if filters.channels:
        qs = qs.filter(origin_channel__in=filters.channels)
    if filters.severities:
        qs = qs.filter(severity__in=filters.severities)
    if filters.needs_verification:
        qs = qs.filter(needs_verification=True)
    if filters.sla == "breached":
        qs = qs.filter(due_sort__lte=now)
    elif filters.sla == "at_risk":
        qs = qs.filter(sla_risk_at__lte=now, due_sort__gt=now)
    if filters.possible_duplicate:
        flagged = DuplicateFlag.objects.filter(status=FlagStatus.SUGGESTED).values("ticket_id")
        qs = qs.filter(ticket_id__in=flagged)
    for tag in filters.tags:
        qs = qs.filter(
            ticket_id__in=Ticket.tags.through.objects.filter(tag__name=tag).values("ticket_id")
        )
    return qs.order_by("due_sort", "ticket_id")


def encode_cursor(row: TicketRow) -> str:
    return f"{row.due_sort.isoformat()}_{row.ticket_id}"


def after_cursor(qs: QuerySet[TicketRow], cursor: str) -> QuerySet[TicketRow]:
    """Return the rows after ``cursor`` (a mangled cursor gives the first page)."""
    stamp, _sep, pk = (cursor or "").rpartition("_")
    try:
        due, ticket_id = datetime.fromisoformat(stamp), int(pk)
    except ValueError:
        return qs
    # The redundant ``due_sort >= due`` lets the index range start at the cursor.
    return qs.filter(due_sort__gte=due).filter(
        Q(due_sort__gt=due) | Q(due_sort=due, ticket_id__gt=ticket_id)
    )


def page(
    filters: ViewFilters, user: AbstractBaseUser, now: datetime, cursor: str = ""
) -> tuple[list[TicketRow], str]:
    """Return one page of rows (with contact, account, assignee and department) and the
    cursor of the next page ("" on the last one)."""
    qs = view_rows(filters, user, now).select_related(
        "contact", "account", "assignee", "department"
    )
    if cursor:
        qs = after_cursor(qs, cursor)
    rows = list(qs[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, encode_cursor(rows[-1]) if more and rows else ""


def row_tags(ticket_ids: Iterable[int]) -> dict[int, list[str]]:
    """Return the tag names of each ticket, in one query."""
    out: dict[int, list[str]] = {}
    pairs = Ticket.tags.through.objects.filter(ticket_id__in=list(ticket_ids)).values_list(
        "ticket_id", "tag__name"
    )
    for ticket_id, name in pairs.order_by("tag__name"):
        out.setdefault(ticket_id, []).append(name)
    return out


def bounded_counts(views: list[View], user: AbstractBaseUser, now: datetime) -> dict[str, int]:
    """Return each view's ticket count, at most ``COUNT_CAP + 1`` (shown as "1000+"),
    all from one SQL statement."""
    if not views:
        return {}
    parts, params = [], []
    for index, view in enumerate(views):
        qs = view_rows(view.filters, user, now).order_by().values("ticket_id")[: COUNT_CAP + 1]
        sql, sql_params = qs.query.sql_with_params()
        # ``sql`` is Django's own compiled query; the values stay parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS c{index})")  # noqa: S608
        params.extend(sql_params)
    # List counts tolerate a few seconds of lag: the read replica when there is one.
    with connections[replica_alias()].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        values = cursor.fetchone()
    return {view.key: int(n) for view, n in zip(views, values, strict=True)}
