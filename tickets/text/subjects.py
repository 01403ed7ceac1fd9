"""Subjects without the reply and forward prefixes mail clients add.

Pure Python (no Django). Prefixes are those of the languages our customers' clients
write in (``Re:``, ``AW:``, ``WG:``, ``SV:``, ``VS:``, ``TR:``, ``Fwd:``, ``Antw:``,
``Ответ:``, ``Отв:``, ``Пересл:``, ``回复：`` …), in any case, repeated, optionally counted
(``Re[2]:``, ``AW(3):``), with the full-width colon Chinese and Japanese clients send.
"""

from __future__ import annotations

import re

from .references import DEFAULT_PREFIX, strip_subject_tokens

REPLY_PREFIX_RE = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|antwort|odp|ynt|rif|ref|réf|fw|fwd|wg|tr|enc|rv|doorst|"
    r"ответ|отв|пересл|回复|答复|转发|返信|転送)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)


def strip_reply_prefixes(subject: str) -> str:
    """Return ``subject`` without its leading reply/forward prefixes, however many."""
    text = subject or ""
    while True:
        stripped = REPLY_PREFIX_RE.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


def normalize_subject(subject: str | None, prefix: str = DEFAULT_PREFIX) -> str:
    """Return the subject without reply/forward prefixes, bracketed ticket tokens or extra
    whitespace: "Re: AW: Fwd: [SD-12] Re[2]: Printer" gives "Printer"."""
    if not subject:
        return ""
    return " ".join(strip_reply_prefixes(strip_subject_tokens(subject, prefix)).split())
