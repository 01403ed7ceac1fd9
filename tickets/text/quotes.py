"""Quoted history and signatures in the plain text of a reply.

Pure module (standard library only), used by email processing, the search index and the
duplicates normaliser. A quote starts at an attribution line ("On … wrote:", "Am …
schrieb …:", "Le … a écrit :", "El … escribió:", "Op … schreef …:", "… написал(а):",
"… пишет:"), an Outlook separator ("-----Original Message-----" in several languages,
"Begin forwarded message:") or an Outlook header block ("From:" with "Sent:"/"Date:"
right below, in several languages); ``>`` lines are quoted too. The heuristics are
conservative: when in doubt, keep the text, because a lost sentence in a ticket is worse
than a repeated quote.
"""

from __future__ import annotations

import re

__all__ = ["history_start", "is_quote_header", "strip_reply"]

# Attribution lines that introduce the quoted original (Gmail, Apple Mail, Thunderbird...).
_ATTRIBUTION_RE = re.compile(
    r"^\s*(?:"
    r"On\b.{4,}\bwrote:"  # English
    r"|Am\b.{4,}\bschrieb\b.*:"  # German
    r"|Le\b.{4,}\ba écrit\s*:"  # French
    r"|El\b.{4,}\bescribió:"  # Spanish
    r"|Op\b.{4,}\bschreef\b.*:"  # Dutch
    r"|.{4,}\bнаписал(?:а|\(а\))?\s*:"  # Russian
    r"|(?=.*[\d@]).{4,}\bпишет\s*:"  # Russian (Thunderbird, Yandex): with a date or address
    r")\s*$",
    re.IGNORECASE,
)
# What every attribution line holds (the words after each ``.{4,}`` above, as the regex
# reads them: same flags): a text without any has no attribution line, alone or joined
# with the next line (the join's space is a line break in the joined text).
_ATTRIBUTION_HINT_RE = re.compile(
    r"wrote:|schrieb|a[ \n]écrit|escribió:|schreef|написал|пишет", re.IGNORECASE
)
# Outlook-style separators; what follows is the original message.
_SEPARATOR_RE = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Исходное сообщение|Forwarded message|Weitergeleitete Nachricht)"
    r"\s*-{2,}|_{20,}|Begin forwarded message:)\s*$",
    re.IGNORECASE,
)
# An Outlook header block: "From:" followed closely by "Sent:"/"Date:" (any language).
_FROM_RE = re.compile(r"^\s*\*?(?:From|Von|De|Van|От|Da)\s*:\*?\s*\S", re.IGNORECASE)
_SENT_RE = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden|Отправлено|Дата|Inviato)"
    r"\s*:",
    re.IGNORECASE,
)
# Signature starts: the RFC 3676 "-- " delimiter and mobile client footers.
_SIGNATURE_RE = re.compile(
    r"^(?:--\s?|Sent from my \w+.*|Von meinem \w+ gesendet.*|Envoyé de mon \w+.*"
    r"|Отправлено с\w* (?:моего )?\w+.*|Get Outlook for \w+.*)$",
    re.IGNORECASE,
)


def strip_reply(text: str) -> str:
    """Return only the new text of a reply, without quoted history or signature.

    Return the original text when stripping would leave nothing, e.g. a bottom-posted reply
    whose new text cannot be told apart, or a message that is all quote.
    """
    lines = text.splitlines()
    cut = history_start(lines)
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    result = "\n".join(kept).strip("\n").rstrip()
    if result.strip():
        return result
    # Bottom-posting: the new text comes after the quote. Keep what is not quoted.
    unquoted = [
        line
        for line in lines
        if not line.lstrip().startswith(">") and not _ATTRIBUTION_RE.match(line)
    ]
    result = "\n".join(unquoted[: _signature_start(unquoted)]).strip("\n").rstrip()
    return result if result.strip() else text


def history_start(lines: list[str]) -> int:
    """Return the index of the first line of quoted history or signature (len if none)."""
    # One scan of the text for the words of an attribution; without them no line is
    # tried against the attribution patterns (each backtracks over the whole line, twice
    # a line: alone and joined with the next). Most mails of an intake have none.
    attribution = _ATTRIBUTION_HINT_RE.search("\n".join(lines)) is not None
    for index, line in enumerate(lines):
        if _SIGNATURE_RE.match(line) or is_quote_header(lines, index, attribution=attribution):
            return index
    return len(lines)


def is_quote_header(lines: list[str], index: int, *, attribution: bool = True) -> bool:
    """Return whether ``lines[index]`` starts a quoted earlier message.

    ``attribution=False`` says the lines hold none of an attribution's words (see
    ``history_start``): the attribution patterns are then not tried.
    """
    line = lines[index]
    if _SEPARATOR_RE.match(line) or (attribution and _ATTRIBUTION_RE.match(line)):
        return True
    # Gmail wraps long attributions: "On Mon, ... John <" / "john@x.com> wrote:".
    if (
        attribution
        and index + 1 < len(lines)
        and _ATTRIBUTION_RE.match(f"{line} {lines[index + 1]}")
    ):
        if lines[index + 1].rstrip().endswith(":") and not line.rstrip().endswith(":"):
            return True
    return bool(_FROM_RE.match(line)) and any(
        _SENT_RE.match(nxt) for nxt in lines[index + 1 : index + 4]
    )


def _signature_start(lines: list[str]) -> int:
    return next((i for i, line in enumerate(lines) if _SIGNATURE_RE.match(line)), len(lines))
