"""Pure helpers that turn an email's headers into ticket-threading keys.

No Django here: the threading service looks tickets up with these keys. The subject's
ticket token and reply prefixes are read by the desk's text toolkit (``tickets.text``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

__all__ = ["DEFAULT_RESELLER_PATTERN", "find_reseller_id", "reference_ids"]

DEFAULT_RESELLER_PATTERN = r"(?i)reseller\s*(?:id)?\s*[:#]?\s*(\d{3,10})\b"


class _Threadable(Protocol):
    @property
    def message_id(self) -> str: ...
    @property
    def in_reply_to(self) -> str | None: ...
    @property
    def references(self) -> Sequence[str]: ...


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
