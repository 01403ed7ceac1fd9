"""Turn mail HTML into plain text and safe HTML, and join body parts in reading order.

Pure module: sanitizing is ``tickets.sanitize`` (nh3 only, no Django), so parsed mail and
stored messages follow the same rules.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3

from tickets.sanitize import sanitize_html

__all__ = ["Segment", "html_to_text", "merge_segments", "sanitize_html"]

_BLOCK_TAG_RE = re.compile(
    r"<\s*(?:/?\s*(?:p|div|tr|li|h[1-6]|table|blockquote|ul|ol|pre)|br|hr)\b[^>]*>", re.I
)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(), clean_content_tags={"script", "style", "head", "title"}, strip_comments=True
)


def html_to_text(markup: str) -> str:
    """Return readable plain text for an HTML body (block tags become line breaks)."""
    # Source whitespace is insignificant in HTML; line breaks come from the block tags.
    markup = _BLOCK_TAG_RE.sub(lambda m: "\n" + m.group(0), " ".join(markup.split()))
    text = html.unescape(_TEXT_CLEANER.clean(markup))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def _plain_to_html(text: str) -> str:
    return "<div>" + html.escape(text).replace("\n", "<br>\n") + "</div>"


@dataclass(slots=True)
class Segment:
    """One body part in reading order; an alternative yields one segment with both forms."""

    plain: str | None
    html: str | None

    def as_text(self) -> str:
        return self.plain if self.plain is not None else html_to_text(self.html or "")

    def as_html(self) -> str:
        return self.html if self.html is not None else _plain_to_html(self.plain or "")


def merge_segments(segments: list[Segment]) -> Segment | None:
    """Return the body parts joined into one segment in reading order (None if none)."""
    if not segments:
        return None
    if any(seg.html is not None for seg in segments):
        return Segment(None, "".join(seg.as_html() for seg in segments))
    return Segment("\n".join(seg.as_text() for seg in segments), None)
