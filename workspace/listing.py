"""The rows of a list, as HTML: one ``<tr>`` per ticket with the view's columns.

Written in Python rather than as a template loop: a list page shows 50 rows of up to
ten cells, and the template engine (and ``format_html``, which checks every argument
for lazy strings) spent most of a page's CPU on them (bench/desk.py). Every value is
escaped here (``html.escape``); strings are translated once per page, in the agent's
language and zone like the template this replaces (see ``templatetags.workspace_tags``
for the same countdown and time markup used elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any, NamedTuple

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from tickets.models import Channel, Status, format_reference

from . import memo, queues
from .memo import gettext as _
from .memo import reverse
from .queues import ListRow, View
from .templatetags.workspace_tags import span_text

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class _Page:
    """What every row of one page shares: the moment, zone and translated words."""

    def __init__(self, now: datetime, tags: dict[int, list[str]]) -> None:
        self.now = now
        self.tags = tags
        self.zone = timezone.get_current_timezone()
        self.zone_name = escape(timezone.get_current_timezone_name())
        words = _words(get_language())
        self.channels, self.statuses = words.channels, words.statuses
        self.overdue, self.within, self.tick = words.overdue, words.within, words.tick
        self.nobody, self.verify = words.nobody, words.verify
        self.ticket_url = words.ticket_url


class _Words(NamedTuple):
    channels: dict[str, str]
    statuses: dict[str, str]
    overdue: str
    within: str
    nobody: str
    verify: str
    tick: str
    ticket_url: str


@memo.cleared_with_settings
@lru_cache(maxsize=16)
def _words(language: str | None) -> _Words:
    """A page's translated, escaped words: the same for every page in ``language``."""
    # Translated outside the f-strings: makemessages cannot see calls inside them.
    nobody, verify = escape(_("nobody")), escape(_("verify"))
    return _Words(
        channels={k: escape(_(str(v))) for k, v in Channel.choices},
        statuses={k: escape(_(str(v))) for k, v in Status.choices},
        overdue=_("%(span)s overdue"),
        within=_("in %(span)s"),
        nobody=f'<span class="muted">{nobody}</span>',
        verify=f' <span class="pill warn">{verify}</span>',
        tick=_("Tick %(n)s"),
        ticket_url=reverse("workspace:ticket", args=[0])[: -len("0/")],
    )


def rows_html(
    rows: Iterable[ListRow],
    columns: Sequence[tuple[str, StrOrPromise]],
    now: datetime,
    tags: dict[int, list[str]] | None = None,
) -> SafeString:
    """Return the table rows for ``rows`` with ``columns`` (key, label) in order."""
    page = _Page(now, tags or {})
    cells = [
        (f'<td class="c-{key}" data-label="{escape(str(label))}">', CELLS[key])
        for key, label in columns
    ]
    out = []
    for row in rows:
        reference = escape(format_reference(row.number))
        subject = escape(row.subject)
        out.append(
            f'<tr data-ticket="{row.number}"><td class="c-check"><input type="checkbox" '
            f'name="ticket" value="{row.ticket_id}" '
            f'aria-label="{escape(page.tick % {"n": format_reference(row.number)})}"></td>'
            f'<td class="c-ticket"><a href="{page.ticket_url}{row.number}/" class="ref">'
            f'{reference}</a> <span class="subject" title="{subject}">{subject}</span>'
            f"{page.verify if row.needs_verification else ''}</td>"
        )
        for opening, cell in cells:
            out.append(f"{opening}{cell(row, page)}</td>")
        out.append("</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


def _due(row: ListRow, page: _Page) -> str:
    due = row.sla_due
    if due is None:
        return '<span class="due none">–</span>'
    seconds = (due - page.now).total_seconds()
    if seconds < 0:
        text, css = page.overdue % {"span": span_text(seconds)}, "overdue"
    else:
        text, css = page.within % {"span": span_text(seconds)}, "soon" if seconds < 3600 else ""
    local = due.astimezone(page.zone).strftime("%Y-%m-%d %H:%M")
    return (
        f'<time class="due {css}" datetime="{due.isoformat()}" title="{local} '
        f'({page.zone_name})" data-due="{int(due.timestamp())}">{escape(text)}</time>'
    )


def _activity(row: ListRow, page: _Page) -> str:
    value = row.last_activity_at
    local = value.astimezone(page.zone).strftime("%d %b %H:%M")
    return f'<time datetime="{value.isoformat()}" title="{page.zone_name}">{local}</time>'


def _assignee(row: ListRow, page: _Page) -> str:
    if not row.assignee_id:
        return page.nobody
    full = f"{row.assignee_first_name} {row.assignee_last_name}".strip()
    return escape(full or row.assignee_username or "")


def _tags(row: ListRow, page: _Page) -> str:
    return "".join(
        f'<span class="tag">{escape(t)}</span> ' for t in page.tags.get(row.ticket_id, ())
    )


CELLS: dict[str, Callable[[ListRow, Any], str]] = {
    "due": _due,
    "channel": lambda row, page: (
        page.channels.get(row.origin_channel) or escape(row.origin_channel)
    ),
    "customer": lambda row, page: escape(row.contact_name or "–"),
    "account": lambda row, page: escape(row.account_name or "–"),
    "activity": _activity,
    "status": lambda row, page: (
        f'<span class="status st-{escape(row.status)}">'
        f"{page.statuses.get(row.status) or escape(row.status)}</span>"
    ),
    "assignee": _assignee,
    "severity": lambda row, page: f"S{row.severity}",
    "department": lambda row, page: escape(row.department_name),
    "tags": _tags,
}


def views_html(views: Iterable[View], counts: dict[str, int] | None, current: str) -> SafeString:
    """Return the sidebar's ``<li>`` per view, with its count (capped: "99+") when
    ``counts`` has one: the page renders it without counts, the poll with them."""
    cap = queues.COUNT_CAP  # read here: tests lower it
    out = []
    for view in views:
        number = (counts or {}).get(view.key)
        count = "" if number is None else (f"{cap}+" if number > cap else str(number))
        head, tail = _view_li(view.key, str(view.label), view.key == current)
        out.append(f"{head}{count}{tail}")
    return mark_safe("".join(out))  # noqa: S308 - every value escaped in _view_li


@memo.cleared_with_settings
@lru_cache(maxsize=1024)
def _view_li(key: str, label: str, here: bool) -> tuple[str, str]:
    """A view's ``<li>`` around its count, escaped: the same for every poll of the
    counts (a dozen views, every 20 s per agent), so made once per view and label."""
    view_url = reverse("workspace:view", args=["x"])[: -len("x/")]
    li, aria = (' class="current"', ' aria-current="page"') if here else ("", "")
    key = escape(key)
    return (
        f'<li{li}><a href="{view_url}{key}/"{aria} data-view="{key}">'
        f'<span class="label">{escape(label)}</span> <span class="count" data-count="{key}">',
        "</span></a></li>\n",
    )
