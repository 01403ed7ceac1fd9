"""Filters for the workspace: countdowns and times in the agent's zone."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from django import template
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from tickets.models import Channel, Status, format_reference

from .. import memo
from ..memo import gettext as _

register = template.Library()
CHANNELS = dict(Channel.choices)
STATUSES = dict(Status.choices)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    if not mapping:
        return None
    return mapping.get(key)


def span_text(seconds: float) -> str:
    """Return a duration as the countdowns show it: "2d 3h", "1h 05m", "7m"."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


_NO_DUE = mark_safe('<span class="due none">–</span>')

# The month abbreviations ``%b`` writes (the process's locale, as strftime would use it).
_MONTHS = tuple(date(2000, month, 1).strftime("%b") for month in range(1, 13))


def minute_text(local: datetime) -> str:
    """``local.strftime("%Y-%m-%d %H:%M")`` without strftime, which parses its format on
    every call (5.3 µs of CPU a call on this machine, 3.1 this way; a ticket page writes
    a dozen or more times and deadlines)."""
    return f"{local.year}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


def day_text(local: datetime) -> str:
    """``local.strftime("%d %b %H:%M")`` without strftime (see ``minute_text``)."""
    return f"{local.day:02d} {_MONTHS[local.month - 1]} {local.hour:02d}:{local.minute:02d}"


@register.simple_tag
def countdown(due: datetime | None, now: datetime) -> SafeString:
    """A deadline as a countdown ("in 2h 05m", "1h 10m overdue"), its time and zone in
    the title; the page's script keeps the text current."""
    if due is None:
        return _NO_DUE
    seconds = (due - now).total_seconds()
    # timezone.localtime and the zone's name, from the page's scope (memo.page_scope).
    local = due.astimezone(memo.zone())
    zone = escape(memo.zone_name())
    if seconds < 0:
        text, css = _("%(span)s overdue") % {"span": span_text(seconds)}, "overdue"
    else:
        text = _("in %(span)s") % {"span": span_text(seconds)}
        css = "soon" if seconds < 3600 else ""
    # An f-string rather than format_html (the same markup): the side panel shows
    # several countdowns a page, and format_html's lazy-aware escaping of each argument
    # was ~3 % of the ticket page's CPU (bench/desk_profile.py). The isoformat, the
    # strftime and the timestamp hold no character HTML escapes.
    return mark_safe(  # noqa: S308 - the zone and the text escaped here
        f'<time class="due {css}" datetime="{due.isoformat()}" '
        f'title="{minute_text(local)} ({zone})" '
        f'data-due="{int(due.timestamp())}">{escape(text)}</time>'
    )


@register.simple_tag
def when(value: datetime | None) -> SafeString:
    """A moment in the agent's zone, the zone named in the title."""
    if value is None:
        return format_html("{}", "–")
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        timezone.get_current_timezone_name(),
        local.strftime("%d %b %H:%M"),
    )


@register.filter
def channel_label(value: str) -> str:
    return _(str(CHANNELS.get(value, value)))


@register.filter
def status_label(value: str) -> str:
    return _(str(STATUSES.get(value, value)))


@register.filter
def reference(number: int) -> str:
    return format_reference(number)


@register.simple_tag
def options(choices: Any, selected: Any = None) -> SafeString:
    """``<option>`` elements for (value, label) pairs, ``selected`` marked: one call
    instead of a template loop over every agent on every page."""
    chosen = "" if selected is None else str(selected)
    pairs = tuple(choices)
    if any(isinstance(label, Promise) for _value, label in pairs):
        # A lazy label is keyed by its text in the active language.
        pairs = tuple((value, str(label)) for value, label in pairs)
    try:
        listed = _OPTIONS.get(pairs)
        kept = True
    except TypeError:  # unhashable values or labels: written every time
        listed, kept = None, False
    if listed is None:
        listed = _options(pairs)
        if kept:
            if len(_OPTIONS) >= 256:
                _OPTIONS.clear()
            _OPTIONS[pairs] = listed
    # Values are unique in practice, but every option whose value is the chosen one is
    # marked, as the loop did; a label cannot hold the pattern (it is escaped).
    mark = f'<option value="{escape(chosen)}">'
    if mark in listed:
        listed = listed.replace(mark, f'<option value="{escape(chosen)}" selected>')
    return mark_safe(listed)  # noqa: S308 - every value escaped in _options


# The options of a select, unmarked, by its (value, label) pairs: the agents' and the
# departments' selects are the same on every ticket page, ~100 escaped labels each
# (bench/desk_profile.py: ~2 % of the page). The key is the whole list, so a renamed agent
# or department is a new entry; cleared when full.
_OPTIONS: dict[tuple[Any, ...], str] = {}


def _options(choices: Any) -> str:
    out = []
    for value, label in choices:
        # Most values are ids: their digits need no escaping (a list of agents is
        # ~100 options a select).
        text = str(value)
        shown = text if type(value) is int else escape(text)
        out.append(f'<option value="{shown}">{escape(str(label))}</option>')
    return "".join(out)


@register.simple_tag(takes_context=True)
def message_entry(context: Any, entry: Any) -> SafeString:
    """A message of the conversation (workspace/message_html.py: Python, not a template)."""
    from ..message_html import message_html

    ticket = context["ticket"]
    version = context.get("version")
    html = message_html(
        entry,
        number=ticket.number,
        subject=ticket.subject,
        version="" if version is None else version,
        live=bool(context.get("live")),
        csrf_token=str(context.get("csrf_token") or ""),
    )
    return mark_safe(html)  # noqa: S308 - every value escaped in message_html


@register.simple_tag(takes_context=True)
def composer_form(context: Any) -> SafeString:
    """The ticket page's answer and note forms (workspace/ticket_html.py)."""
    from ..ticket_html import composer_html

    return mark_safe(composer_html(context.flatten()))  # noqa: S308 - escaped there
