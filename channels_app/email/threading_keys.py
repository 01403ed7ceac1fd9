"""Pure helpers that turn an email's subject and headers into ticket-threading keys.

No Django here: the threading service looks tickets up with these keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

__all__ = [
    "DEFAULT_RESELLER_PATTERN",
    "DEFAULT_TICKET_PREFIX",
    "TICKET_TOKEN_RE",
    "extract_ticket_number",
    "find_reseller_id",
    "normalize_subject",
    "reference_ids",
    "ticket_token_re",
]

DEFAULT_TICKET_PREFIX = "SD"
DEFAULT_RESELLER_PATTERN = r"(?i)reseller\s*(?:id)?\s*[:#]?\s*(\d{3,10})\b"

# Reply/forward markers in the languages our customers write in, optionally counted
# ("Re[2]:", "AW(3):"); the colon may be full-width as Chinese and Japanese clients send it.
_REPLY_PREFIX_RE = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|antwort|odp|ynt|rif|ref|réf|fw|fwd|wg|tr|enc|rv|doorst|"
    r"ответ|отв|пересл|回复|答复|转发|返信|転送)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)


class _Threadable(Protocol):
    @property
    def message_id(self) -> str: ...
    @property
    def in_reply_to(self) -> str | None: ...
    @property
    def references(self) -> Sequence[str]: ...


@lru_cache(maxsize=32)
def ticket_token_re(prefix: str = DEFAULT_TICKET_PREFIX) -> re.Pattern[str]:
    """Return the pattern of a subject ticket token such as ``[SD-123456]``."""
    return re.compile(rf"\[\s*{re.escape(prefix)}\s*-\s*(\d{{1,12}})\s*\]", re.IGNORECASE)


TICKET_TOKEN_RE = ticket_token_re(DEFAULT_TICKET_PREFIX)


def extract_ticket_number(subject: str | None, prefix: str = DEFAULT_TICKET_PREFIX) -> str | None:
    """Return the ticket number from the first ``[PREFIX-n]`` token in a subject, if any."""
    if not subject:
        return None
    match = ticket_token_re(prefix).search(subject)
    return match.group(1) if match else None


def normalize_subject(subject: str | None, prefix: str = DEFAULT_TICKET_PREFIX) -> str:
    """Return the subject without reply/forward prefixes, ticket tokens or extra whitespace.

    Prefixes are stripped repeatedly, so "Re: AW: Fwd: [SD-12] Re[2]: Printer" gives "Printer".
    """
    if not subject:
        return ""
    text = ticket_token_re(prefix).sub(" ", subject)
    while True:
        stripped = _REPLY_PREFIX_RE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split())


def reference_ids(parsed: _Threadable) -> list[str]:
    """Return the Message-IDs this message answers: In-Reply-To, then References newest first.

    Duplicates and the message's own id are dropped, so the list can be tried in order.
    """
    candidates = [parsed.in_reply_to or "", *reversed(tuple(parsed.references))]
    seen = {parsed.message_id}
    ordered = []
    for message_id in candidates:
        if message_id and message_id not in seen:
            seen.add(message_id)
            ordered.append(message_id)
    return ordered


def find_reseller_id(
    text: str | None, pattern: str | re.Pattern[str] = DEFAULT_RESELLER_PATTERN
) -> str | None:
    """Return the first reseller id (the pattern's first group) found in the text, if any."""
    if not text:
        return None
    match = re.search(pattern, text)
    return match.group(1) if match else None
