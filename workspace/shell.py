"""The list page's shell: rendered by the template engine once per agent, language, zone
and view, then filled with what each request shows.

The template engine was a list page's biggest cost (bench/desk.py, bench/desk_profile.py):
the top bar, the sidebar frame and the bulk bar with its selects (every agent, department,
status and severity) are the same on every request of one agent's view, while only the
rows, the sidebar's views, the CSRF token, the flash messages and the request's own path
differ. So the page is rendered with a marker for each of those and kept in this
process's memory; each request fills the markers with HTML built from current data
(``fill``). Nothing that depends on tickets is kept: rows and counts are always read and
rendered per request.

The key names the authenticated principal and language (the house rule for any cache),
and everything else the shell shows: the agent's name, zone and dashboard permission,
the view's label, columns and owner, the departments and the agents the bulk bar offers
(read per request, so a renamed or added agent or department gives a new shell at once).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Hashable
from html import escape
from threading import Lock

from django.contrib import messages
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

# Private-use characters: no escaping changes them and no ticket data reaches the shell.
MARKS = (
    "csrf_token",
    "messages_html",
    "goto_q",
    "next_path",
    "views_html",
    "rows_html",
    "empty_html",
    "title_html",  # the ticket page's frame (workspace/views/ticket.py)
    "body_html",
)
MARK = {name: mark_safe(f"\ue000{name}\ue001") for name in MARKS}  # noqa: S308 - constants
LIMIT = 2000  # shells kept per process (agents × languages × views), oldest dropped first

_shells: OrderedDict[Hashable, tuple[str, ...]] = OrderedDict()
_lock = Lock()


_FIND = re.compile("|".join(re.escape(str(m)) for m in MARK.values()))


def _split(html: str) -> tuple[str, ...]:
    """Return the shell as alternating text and marker names, for a join per request.
    Only the exact markers count: a name or label holding the same characters stays text."""
    parts: list[str] = []
    at = 0
    for found in _FIND.finditer(html):
        parts += [html[at : found.start()], found.group()[1:-1]]
        at = found.end()
    parts.append(html[at:])
    return tuple(parts)


def shell(
    key: Hashable, request: HttpRequest, template: str, context: dict[str, object]
) -> tuple[str, ...]:
    """Return the shell of ``template`` for ``key`` (rendering it with markers if not kept)."""
    with _lock:
        found = _shells.get(key)
        if found is not None:
            _shells.move_to_end(key)
            return found
    marked = {**context, **MARK}
    parts = _split(render_to_string(template, marked, request))
    with _lock:
        _shells[key] = parts
        while len(_shells) > LIMIT:
            _shells.popitem(last=False)
    return parts


def fill(parts: tuple[str, ...], values: dict[str, str]) -> str:
    """Return the page: the shell's text with each marker replaced by its value."""
    return "".join(values[p] if i % 2 else p for i, p in enumerate(parts))


def messages_html(request: HttpRequest) -> str:
    """The flash messages as base.html shows them (and marked as shown)."""
    # conditional_escape, like the template: a message marked safe keeps its markup.
    items = "".join(
        f'<li class="{conditional_escape(m.tags)}">{conditional_escape(m.message)}</li>'
        for m in messages.get_messages(request)
    )
    return f'<ul class="messages" role="status">{items}</ul>' if items else ""


def clear() -> None:
    with _lock:
        _shells.clear()


def common_values(request: HttpRequest) -> dict[str, str]:
    """The per-request values every shell has: CSRF token, messages, search box, path."""
    from django.middleware.csrf import get_token

    return {
        "csrf_token": escape(get_token(request)),
        "messages_html": messages_html(request),
        "goto_q": escape(request.GET.get("q", "")),
        "next_path": escape(request.get_full_path()),
    }
