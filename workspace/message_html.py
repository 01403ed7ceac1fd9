"""One message of the conversation as HTML (the ticket page and its htmx refresh).

Written in Python rather than as a template for the reason of workspace/listing.py: the
ticket page renders every message of the ticket, and the template engine's per-node cost
for each was a good part of the page's CPU (bench/desk_profile.py). Every value is
escaped here; the message's HTML body was cleaned by ``tickets.sanitize`` already
(``Entry.html`` is safe). Strings keep the msgids the template had.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.html import conditional_escape
from django.utils.translation import gettext as django_gettext
from django.utils.translation import override

from tickets.models import Channel

from . import memo
from .memo import ngettext, reverse
from .templatetags.workspace_tags import day_text
from .timeline import Entry, prepare

CHANNELS = dict(Channel.choices)


class _Catalog(dict[str, str]):
    """The fixed msgids of the ticket page translated into one language, each on first use."""

    def __init__(self, language: str | None) -> None:
        super().__init__()
        self.language = language
        self.channels: dict[str, str] = {}

    def __missing__(self, message: str) -> str:
        with override(self.language):  # this catalog's language, whatever is active now
            found = self[message] = django_gettext(message)
        return found

    def channel(self, value: str) -> str:
        """The channel's label, escaped (a lazy label translated on every message else)."""
        found = self.channels.get(value)
        if found is None:
            with override(self.language):
                found = self.channels[value] = escape(str(CHANNELS.get(value, value)))
        return found


class _Catalogs(dict[str | None, _Catalog]):
    def cache_clear(self) -> None:
        self.clear()


# Per language (None: translations deactivated); the msgids are this code's literals, so
# each catalog stays small. Cleared when settings that change translations do (tests).
_CATALOGS = memo.cleared_with_settings(_Catalogs())


def translations() -> Callable[[str], str]:
    """``gettext`` of the active language for one part of the page.

    ``memo.gettext`` looks the active language up (a context-local) on every call; the
    page's parts ask for ~70 strings, so each part looks it up once and then reads a
    plain dict (bench/desk_profile.py: ~5 % of the page's CPU was those look-ups)."""
    return _catalog().__getitem__


def _catalog() -> _Catalog:
    language = memo.language()
    catalog = _CATALOGS.get(language)
    if catalog is None:
        catalog = _CATALOGS[language] = _Catalog(language)
    return catalog


def when_html(value: datetime | None) -> str:
    """A moment in the agent's zone, the zone named in the title (the ``when`` tag)."""
    if value is None:
        return "–"
    # timezone.localtime and the zone's name, from the page's scope (memo.page_scope).
    local = day_text(value.astimezone(memo.zone()))
    zone = escape(memo.zone_name())
    return f'<time datetime="{value.isoformat()}" title="{zone}">{local}</time>'


def message_html(
    entry: Entry, *, number: int, subject: str, version: object, live: bool, csrf_token: str
) -> str:
    """Return the ``<li>`` of a message entry of ticket ``number``."""
    catalog = _catalog()
    _ = catalog.__getitem__
    m = entry.message
    assert m is not None  # noqa: S101 - a message entry always has its message
    prepare(entry)
    out = [
        f'<li class="entry msg {escape(entry.css)}" id="message-{m.pk}" '
        f'data-channel="{escape(m.channel)}" data-direction="{escape(m.direction)}">\n'
        '  <div class="entry-meta">\n'
        f'    <span class="chan">{catalog.channel(m.channel)}</span>\n'
        f'    <strong class="who">{escape(entry.author)}</strong>\n'
    ]
    if m.direction == "outbound":
        out.append(f'    <span class="muted">→ {escape(_("customer"))}</span>\n')
    elif m.direction == "internal":
        out.append(f'    <span class="pill note">{escape(_("internal note"))}</span>\n')
    out.append(f"    · {when_html(m.occurred_at)}\n")
    if m.merged_from_id:
        reference = escape(m.merged_from.reference if m.merged_from else "")
        out.append(f'    · <span class="muted">{escape(_("merged from"))} {reference}</span>\n')
    metadata = m.metadata or {}
    if metadata.get("cc"):
        out.append(f"    · CC {', '.join(conditional_escape(c) for c in metadata['cc'])}\n")
    if m.channel == "phone" and metadata.get("duration_seconds"):
        seconds = metadata["duration_seconds"]
        out.append(f"    · {escape(_('call of %(s)s s') % {'s': seconds})}\n")
    out.append("  </div>\n")
    if entry.html:
        out.append(f'  <div class="body html">{entry.html}</div>\n')
    else:
        out.append(f'  <div class="body text">{escape(m.body_text)}</div>\n')
    if entry.blocked_images:
        n = entry.blocked_images
        note = ngettext(
            "%(n)s remote image blocked (it would tell the sender you read this).",
            "%(n)s remote images blocked (they would tell the sender you read this).",
            n,
        ) % {"n": n}
        url = reverse("workspace:message", args=[number, m.pk])
        out.append(
            f'  <p class="blocked-note">{escape(note)}\n'
            f'    <a class="show-images" href="?images={m.pk}#message-{m.pk}" '
            f'hx-get="{url}?images=1" hx-target="#message-{m.pk}" hx-swap="outerHTML">'
            f"{escape(_('Show remote images'))}</a></p>\n"
        )
    if entry.attachments:
        out.append('  <ul class="attachments">\n')
        for a in entry.attachments:
            name = escape(a["filename"])
            out.append(f'  <li class="att att-{escape(a["kind"])}">\n')
            if a["kind"] == "image":
                inline = escape(a["inline_url"])
                out.append(
                    f'    <a href="{inline}" target="_blank" rel="noopener"><img src="{inline}" '
                    f'alt="{name}" loading="lazy" class="thumb"></a>\n'
                )
            out.append(
                f'    <a href="{escape(a["download_url"])}" class="dl">{name}</a> '
                f'<span class="muted">({escape(filesizeformat(a["size"]))})</span>\n'
            )
            if a["preview_url"]:
                out.append(
                    f'    <a href="{escape(a["preview_url"])}" class="preview-link">'
                    f"{escape(_('Preview'))}</a>\n"
                )
            out.append("  </li>")
        out.append("\n  </ul>\n")
    if live and m.channel != "note":
        action = reverse("workspace:ticket_split", args=[number, m.pk])
        split = escape(f"{subject} (split)")
        out.append(
            '  <details class="msg-actions">'
            f"<summary>{escape(_('Split off…'))}</summary>\n"
            f'    <form method="post" action="{action}" class="inline split-form">\n'
            f'      <input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
            f'<input type="hidden" name="version" value="{escape(str(version))}">\n'
            f"      <label>{escape(_('Subject of the new ticket'))} "
            f'<input name="subject" maxlength="255" value="{split}"></label>\n'
            f'      <button type="submit">{escape(_("Split into a new ticket"))}</button>\n'
            "    </form>\n  </details>\n"
        )
    out.append("</li>")
    return "".join(out)


# --- message fragments ------------------------------------------------------------------
# A message's ``<li>`` depends on the message's row and attachments, its author's name,
# the ticket's number and subject, whether the ticket is live, the agent's language and
# zone -- and on two per-page values, the CSRF token and the ticket's version, which the
# memo keeps as these stand-ins (random: no message text can hold them) and fills per page.
_CSRF_MARK = secrets.token_hex(16)
_VERSION_MARK = secrets.token_hex(16)


class _Fragments:
    """A per-process LRU of message fragments (bench/desk_profile.py: sanitizing and
    writing the messages was ~10 % of the ticket page's CPU; a message, once stored, is
    shown the same way on every visit). Bounded in entries (the setting) and in size:
    at most ``AVERAGE`` characters an entry on average, and no single fragment over
    ``LARGEST`` is kept (a long mail is written every time rather than crowd out others)."""

    AVERAGE = 4096
    LARGEST = 256 * 1024

    def __init__(self) -> None:
        self.items: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self.size = 0  # characters kept
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], html: str, limit: int) -> None:
        if len(html) > self.LARGEST:
            return
        with self.lock:
            if (old := self.items.pop(key, None)) is not None:
                self.size -= len(old)
            self.items[key] = html
            self.size += len(html)
            while self.items and (len(self.items) > limit or self.size > limit * self.AVERAGE):
                _key, dropped = self.items.popitem(last=False)
                self.size -= len(dropped)

    def cache_clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.size = 0


FRAGMENTS = memo.cleared_with_settings(_Fragments())


def fragment_key(entry: Entry, page: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What a message's fragment depends on besides the per-page stand-ins; ``page``:
    (the agent's id, language, zone, ticket number, subject, live). None: not memoized
    (an entry made ready already, or metadata that is not plain values)."""
    m = entry.message
    if m is None or entry.pending is None:
        return None
    attachments, allow_remote = entry.pending
    metadata = m.metadata or {}
    # The bodies enter the key as hashes (a message is stored once; an edit or a
    # redaction changes the hash, so a changed message is never served from here).
    key = (
        *page,
        allow_remote,
        m.pk,
        m.channel,
        m.direction,
        m.occurred_at,
        m.merged_from_id,
        entry.author,
        hash(m.body_text),
        hash(m.body_html),
        tuple(metadata.get("cc") or ()),
        metadata.get("duration_seconds"),
        tuple(
            (a.pk, a.filename, a.size, a.content_type, a.content_id, a.is_inline)
            for a in attachments
        ),
    )
    try:
        hash(key)
    except TypeError:  # e.g. a CC list of objects: render it every time
        return None
    return key


def cached_message_html(
    entry: Entry,
    *,
    page: tuple[Any, ...] | None,
    limit: int,
    number: int,
    subject: str,
    version: object,
    live: bool,
    csrf_token: str,
    fill: bool = True,
) -> str:
    """``message_html`` through the fragment memo (``limit``: its size, 0 = off);
    ``page`` names the agent the page is for (a cache key names the principal).
    ``fill=False``: a kept fragment keeps its stand-ins, for the caller to fill once in
    the whole conversation (``fill_stand_ins``) rather than message by message."""
    key = fragment_key(entry, page) if page is not None and limit > 0 else None
    if key is None:
        return message_html(
            entry, number=number, subject=subject, version=version, live=live, csrf_token=csrf_token
        )
    html = FRAGMENTS.get(key)
    if html is None:
        html = message_html(
            entry,
            number=number,
            subject=subject,
            version=_VERSION_MARK,
            live=live,
            csrf_token=_CSRF_MARK,
        )
        FRAGMENTS.put(key, html, limit)
    if live and fill:
        html = fill_stand_ins(html, csrf_token=csrf_token, version=version)
    return html


def fill_stand_ins(html: str, *, csrf_token: str, version: object) -> str:
    """The page's CSRF token and ticket version in place of the kept fragments' stand-ins."""
    return html.replace(_CSRF_MARK, escape(csrf_token)).replace(_VERSION_MARK, escape(str(version)))
