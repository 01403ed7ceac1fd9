"""Reading what an agent typed into the one search box.

Pure module. The box takes ticket numbers (``SD-100001``, ``[SD - 100001]``, ``SD#100001``,
``#100001``, ``100001``: ``tickets.text.references``),
reseller IDs, email addresses, phone numbers in any notation, domains and plain words;
a query is read every way it can be at once (an all-digit query is a ticket number,
a reseller ID and a word), and the selector unites what each reading finds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tickets.text import parse_reference

from .text import domains, phone_number

MAX_QUERY_CHARS = 200

_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$", re.UNICODE)
_DOMAIN = re.compile(r"^(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,63})/?$", re.IGNORECASE)
_NUMBER = re.compile(r"^#?(\d{1,18})$")
_PHONEISH = re.compile(r"^[+(]?[\d\s().\-+]{6,30}$")
_CODE = re.compile(r"^[A-Za-z0-9][\w./-]{1,40}$")
_PARTIAL_MIN = 3  # trigrams need three characters


@dataclass(frozen=True)
class ParsedQuery:
    """Every reading of one query."""

    text: str  # the query as typed, trimmed (what full-text search reads)
    numbers: tuple[int, ...] = ()  # ticket numbers
    reseller_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164 digits without "+"
    domains: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # order numbers, reseller IDs, other codes (lower-cased)
    partial: str = ""  # a fragment of an identifier, for trigram matching
    lexemes: tuple[str, ...] = field(default=())  # identifier lexemes matched exactly

    @property
    def is_empty(self) -> bool:
        return not self.text

    @property
    def is_identifier(self) -> bool:
        """Whether the whole query is one identifier (not words to search in text)."""
        return bool(self.numbers or self.emails or self.phones or self.domains or self.codes)


def _common_end(a: str, b: str) -> str:
    size = 0
    while size < min(len(a), len(b)) and a[-1 - size] == b[-1 - size]:
        size += 1
    return a[len(a) - size :]


def parse_query(raw: str, *, prefix: str, regions: Sequence[str]) -> ParsedQuery:
    """Return every reading of ``raw``; ``prefix`` is the ticket prefix (``SD``) and
    ``regions`` the countries a number without country code is tried in."""
    text = " ".join((raw or "").replace("\x00", "").split())[:MAX_QUERY_CHARS]
    if not text:
        return ParsedQuery(text="")
    numbers: list[int] = []
    resellers: list[str] = []
    emails: list[str] = []
    phones: list[str] = []
    found_domains: list[str] = []
    partial = ""
    compact = text.strip()
    reference = parse_reference(compact, prefix, bare=False)
    if reference is not None:
        numbers.append(reference)
    elif match := _NUMBER.fullmatch(compact):
        numbers.append(int(match.group(1)))
        resellers.append(match.group(1))  # 200417 is a ticket number *and* a reseller ID
    if _EMAIL.fullmatch(compact):
        emails.append(compact.lower())
    elif match := _DOMAIN.fullmatch(compact):
        if domains(match.group(1)):
            found_domains.append(match.group(1).lower())
    if _PHONEISH.fullmatch(compact) and reference is None:
        number = phone_number(compact, regions)
        if number:
            phones.append(number)
    codes: list[str] = []
    if " " not in compact and _CODE.fullmatch(compact) and not emails and not numbers:
        if any(ch.isdigit() for ch in compact) and not phones:
            resellers.append(compact)
            codes.append(compact.lower())
    digits = re.sub(r"\D", "", compact)
    if phones or (_PHONEISH.fullmatch(compact) and len(digits) >= _PARTIAL_MIN):
        # The digits as typed and as read agree at their end: "8 (495) …" is read as
        # "7495…", and seven digits without an area code may be read as another
        # country's whole number ("5176202" as 49 5176202); the fragment is what both end in.
        partial = _common_end(phones[0], digits) if phones else digits
        if len(partial) < _PARTIAL_MIN:
            partial = digits
    elif " " not in compact and len(compact) >= _PARTIAL_MIN and not compact.isalpha():
        partial = compact.lower()
    lexemes = [*emails, *phones, *found_domains, *codes, *(str(n) for n in numbers)]
    return ParsedQuery(
        text=text,
        numbers=tuple(numbers),
        reseller_ids=tuple(resellers),
        emails=tuple(emails),
        phones=tuple(phones),
        domains=tuple(found_domains),
        codes=tuple(codes),
        partial=partial,
        lexemes=tuple(dict.fromkeys(lexemes)),
    )
