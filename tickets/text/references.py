"""Ticket references in text: ``[SD-100001]``, ``[SD - 100001]``, ``SD-100001``, ``SD#100001``.

Pure Python (no Django). One grammar serves email threading (a bracketed token in the
subject: ``subject_token``), the search boxes (a whole query: ``parse_reference``) and
duplicate detection (every reference in a text: ``find_references``/``strip_references``):

- bracketed: ``[`` PREFIX, an optional ``-``, ``#`` or ``№`` with any spaces, the digits,
  ``]`` (``[SD-100001]``, ``[sd - 100001]``, ``[SD#100001]``, ``[SD 100001]``);
- bare: PREFIX, ``-``, ``#`` or ``№`` with optional spaces, the digits (``SD-100001``,
  ``SD#100001``, ``SD - 100001``); without a separator "SD 128" is more likely a memory
  card than a ticket, so that reading is left to a whole query (``parse_reference``).

The prefix is the desk's (``SUPPORTDESK_TICKET_PREFIX``), matched in any case; numbers
are ASCII digits, at most 18 (a ticket number is a 64-bit integer).
"""

from __future__ import annotations

import re
from functools import lru_cache

DEFAULT_PREFIX = "SD"
MAX_DIGITS = 18
_DIGITS = rf"[0-9]{{1,{MAX_DIGITS}}}"


@lru_cache(maxsize=32)
def reference_re(prefix: str = DEFAULT_PREFIX) -> re.Pattern[str]:
    """Return the pattern of a ticket reference; group ``number`` holds its digits and
    group ``open`` is set when the reference is bracketed (a subject token)."""
    return re.compile(
        rf"(?:(?P<open>\[)\s*)?(?<!\w){re.escape(prefix)}"
        rf"(?(open)\s*[-#№]?\s*|\s*[-#№]\s*)"
        rf"(?P<number>{_DIGITS})"
        r"(?(open)\s*\]|(?![\w]))",
        re.IGNORECASE,
    )


@lru_cache(maxsize=32)
def _query_re(prefix: str) -> re.Pattern[str]:
    # A whole query may also leave the separator out: "SD100001", "sd 100001".
    return re.compile(rf"{re.escape(prefix)}\s*(?P<number>{_DIGITS})", re.IGNORECASE)


_BARE_NUMBER = re.compile(rf"#?\s*(?P<number>{_DIGITS})")


def find_references(text: str, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Return the digits of every reference in ``text``, bracketed or bare, in order."""
    return [match["number"] for match in reference_re(prefix).finditer(text or "")]


def strip_references(text: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Return ``text`` with every reference (and its brackets) replaced by a space."""
    return reference_re(prefix).sub(" ", text or "")


def subject_token(subject: str | None, prefix: str = DEFAULT_PREFIX) -> str | None:
    """Return the digits of the first bracketed reference in a subject, if any.

    Threading follows only the bracketed token our own mails carry: a subject that merely
    mentions a ticket ("about SD-100001") is not a reply to it.
    """
    for match in reference_re(prefix).finditer(subject or ""):
        if match["open"]:
            return match["number"]
    return None


def strip_subject_tokens(subject: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Return ``subject`` with its bracketed references replaced by a space (a mentioned
    ``SD-100001`` stays: it is part of what the customer wrote)."""
    return reference_re(prefix).sub(lambda match: " " if match["open"] else match[0], subject or "")


def parse_reference(text: str, prefix: str = DEFAULT_PREFIX, *, bare: bool = True) -> int | None:
    """Return the ticket number when the whole of ``text`` is a reference, else None.

    Any form of ``find_references`` counts, and so do ``SD100001`` and ``SD 100001``;
    with ``bare`` also ``100001`` and ``#100001``.
    """
    text = (text or "").strip()
    match = reference_re(prefix).fullmatch(text) or _query_re(prefix).fullmatch(text)
    if match is None and bare:
        match = _BARE_NUMBER.fullmatch(text)
    return int(match["number"]) if match else None
