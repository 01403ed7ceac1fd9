"""The rows of a list, as HTML: one ``<tr>`` per ticket with the view's columns.

Written in Python rather than as a template loop: a list page shows 50 rows of up to
ten cells, and the template engine (and ``format_html``, which checks every argument
for lazy strings) spent most of a page's CPU on them (bench/desk.py). Every value is
escaped here (``html.escape``); strings are translated once per page, in the agent's
language and zone like the template this replaces (see ``templatetags.workspace_tags``
for the same countdown and time markup used elsewhere).

Each row's HTML is also kept per process (``SUPPORTDESK_ROW_FRAGMENTS`` rows, 0: off),
keyed by the signed-in agent and everything the row shows: the row's own values (any
change of the ticket, its assignee's, contact's, account's or department's names is a
new key, so a changed row is rendered anew on the next page, never shown stale), its
tags, the page's language, zone and columns, and the countdown's minute. Tickets change
a few times a second while agents page through the same 50 rows hundreds of times: most
rows are memo hits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import override

from tickets.models import Channel, Status, format_reference

from . import memo, queues
from .memo import gettext as _
from .memo import reverse
from .queues import ListRow, PageRow, View
from .templatetags.workspace_tags import day_text, minute_text, span_text

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class _Page:
    """What every row of one page shares: the moment, zone and translated words."""

    def __init__(self, now: datetime, tags: dict[int, list[str]]) -> None:
        self.now = now
        self.tags = tags
        self.zone = memo.zone()
        self.zone_name = escape(memo.zone_name())
        words = _words(memo.language())
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
    rows: Iterable[PageRow],
    columns: Sequence[tuple[str, StrOrPromise]],
    now: datetime,
    tags: dict[int, list[str]] | None = None,
    *,
    viewer: int,
) -> SafeString:
    """Return the table rows for ``rows`` with ``columns`` (key, label) in order, for
    the signed-in agent ``viewer`` (a user id: the principal the kept rows are keyed by)."""
    page = _Page(now, tags or {})
    language = memo.language()
    cells = [
        (
            _opening(language, key)
            if label is queues.COLUMNS.get(key)
            else f'<td class="c-{key}" data-label="{escape(str(label))}">',
            CELLS[key],
        )
        for key, label in columns
    ]
    limit = settings.SUPPORTDESK_ROW_FRAGMENTS
    list_row = queues.list_row
    if not limit:
        return mark_safe("".join(_row_html(list_row(row), page, cells) for row in rows))  # noqa: S308
    # What every row of this page shares in its key: the agent (a cache key names its
    # principal, though a row shows nothing of the agent), language, zone, columns (labels
    # follow from the keys and the language).
    names = tuple(key for key, _label in columns)
    shared = (viewer, language, page.zone_name, names)
    with_tags = "tags" in names
    kept = _fragments
    now_us = queues.micros(now)
    out = []
    for row in rows:
        due = row.sla_due_us
        if due is None:
            minute = None
        else:
            # The countdown's text and class follow from the sign and the whole minutes
            # (span_text), the "soon" class from minutes < 60. The same float as
            # _due's (due - now).total_seconds(): timedelta divides its microseconds so.
            seconds = (due - now_us) / 1_000_000
            minute = (seconds < 0, int(abs(seconds) // 60))
        key = (row, shared, minute, tuple(page.tags.get(row.ticket_id, ())) if with_tags else ())
        html = kept.get(key)
        if html is None:
            html = _row_html(list_row(row), page, cells)
            if len(kept) >= limit:
                # The oldest entry (dicts keep insertion order); another thread may have
                # taken it first.
                kept.pop(next(iter(kept), ()), None)
            kept[key] = html
        out.append(html)
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


@memo.cleared_with_settings
@lru_cache(maxsize=256)
def _opening(language: str | None, key: str) -> str:
    """A column's ``<td>`` with its label (``queues.COLUMNS``, lazy: each ``str()`` is a
    translation look-up, ~40 µs; seven a page were half of a page of kept rows)."""
    with override(language):
        return f'<td class="c-{key}" data-label="{escape(str(queues.COLUMNS[key]))}">'


class _Fragments(dict[tuple[Any, ...], str]):
    """Row HTML by (row, agent/language/zone/columns, countdown minute, tags): see the
    module's docstring. Cleared with the memos of translated text."""

    def cache_clear(self) -> None:
        self.clear()


_fragments = memo.cleared_with_settings(_Fragments())


def _row_html(row: ListRow, page: _Page, cells: list[tuple[str, Callable[..., str]]]) -> str:
    out = []
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
    return "".join(out)


def _due(row: ListRow, page: _Page) -> str:
    due = row.sla_due
    if due is None:
        return '<span class="due none">–</span>'
    seconds = (due - page.now).total_seconds()
    if seconds < 0:
        text, css = page.overdue % {"span": span_text(seconds)}, "overdue"
    else:
        text, css = page.within % {"span": span_text(seconds)}, "soon" if seconds < 3600 else ""
    local = minute_text(due.astimezone(page.zone))
    return (
        f'<time class="due {css}" datetime="{due.isoformat()}" title="{local} '
        f'({page.zone_name})" data-due="{int(due.timestamp())}">{escape(text)}</time>'
    )


def _activity(row: ListRow, page: _Page) -> str:
    value = row.last_activity_at
    local = day_text(value.astimezone(page.zone))
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
