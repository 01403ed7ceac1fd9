"""Highlighted snippets: marked text from a backend, or identifiers marked in Python.

Backends mark matches with START/STOP control characters (never in stored text: the
services drop NULs and the marks are replaced after escaping), so the HTML is built
here, escaped once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .query import ParsedQuery
from .text import _PHONE, phone_number

START, STOP = "\x02", "\x03"
WINDOW = 110  # characters shown on each side of the first mark


def marked_html(marked: str) -> SafeString:
    """Return text with START/STOP marks as escaped HTML with <mark> elements."""
    cleaned = " ".join(marked.split())
    html = escape(cleaned).replace(START, "<mark>").replace(STOP, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped just above; only our marks become tags


def identifier_snippet(text: str, query: ParsedQuery, regions: Sequence[str]) -> str:
    """Return ``text`` around the first place the query's identifier is written, with
    START/STOP marks ("" if it is not written there)."""
    spans: list[tuple[int, int]] = []
    if query.phones:
        for match in _PHONE.finditer(text):
            if phone_number(match.group(0), regions) in query.phones:
                spans.append(match.span())
    needles = [*query.emails, *query.domains, *(str(n) for n in query.numbers)]
    if query.partial:
        needles.append(query.partial)
    for needle in needles:
        for match in re.finditer(re.escape(needle), text, re.IGNORECASE):
            spans.append(match.span())
    if not spans:
        return ""
    spans.sort()
    first = spans[0][0]
    lo, hi = max(0, first - WINDOW), min(len(text), spans[0][1] + WINDOW)
    out, cursor = [], lo
    for start, end in spans:
        if start < cursor or end > hi:
            continue
        out += [text[cursor:start], START, text[start:end], STOP]
        cursor = end
    out.append(text[cursor:hi])
    return ("…" if lo else "") + "".join(out) + ("…" if hi < len(text) else "")


def plain_start(text: str) -> str:
    """Return the beginning of ``text`` as a snippet without marks."""
    text = " ".join(text.split())
    return text[: 2 * WINDOW] + ("…" if len(text) > 2 * WINDOW else "")
