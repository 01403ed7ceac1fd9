"""What of a message the search index keeps, in which language, and which identifiers.

Pure module (standard library and phonenumbers): the same rules serve the write path
(``search.indexing``) and the query parser (``search.query``), and are tested alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

import phonenumbers

from tickets.text import strip_reply
from tickets.text_rules import detect_language

# Indexing stops here: a pasted 5 MB log would otherwise exceed PostgreSQL's 1 MB
# tsvector limit and fail the write that carries it. What matters is said early.
MAX_INDEXED_CHARS = 100_000
MAX_IDENTIFIER_CHARS = 200
MAX_IDENTIFIERS = 200

# PostgreSQL text search configurations, by the language codes the desk speaks.
CONFIGS = {"ru": "russian", "nl": "dutch", "es": "spanish", "en": "english"}
SIMPLE = "simple"

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def searchable_text(body: str) -> str:
    """Return the part of a message body worth finding: without quoted history and
    signature (the reply parser's own rules), at most MAX_INDEXED_CHARS long."""
    text = (body or "").replace("\x00", "")
    if not text.strip():
        return ""
    return strip_reply(text[: MAX_INDEXED_CHARS * 2])[:MAX_INDEXED_CHARS]


def language_config(text: str) -> str:
    """Return the text search configuration for ``text``: the language the desk reads it
    in (``tickets.text_rules.detect_language``, the rule auto-replies use too), else
    simple (no stemming)."""
    return CONFIGS.get(detect_language(text or ""), SIMPLE)


def query_configs(text: str) -> list[str]:
    """Return the configurations a query is read in: its words may be in any language of
    the desk, and ``simple`` finds words exactly as written."""
    if _CYRILLIC.search(text or ""):
        return [CONFIGS["ru"], SIMPLE]
    return [CONFIGS["en"], CONFIGS["nl"], CONFIGS["es"], SIMPLE]


# --- identifiers ------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", re.UNICODE)
_HOST = re.compile(
    r"(?<![\w@.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62})(?![\w-])",
    re.IGNORECASE,
)
# Something a person may dial: optional +, then digits with spaces, dots, dashes or
# brackets between them. Seven to fifteen digits are checked by libphonenumber.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().\-]{5,22}\d(?!\w)")
# Codes people quote: order, invoice and case numbers, reseller IDs (letters and digits,
# with at least one digit and at least four characters).
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)[A-Za-z0-9][\w-]{2,40}[A-Za-z0-9](?![\w-])")
# Endings that look like domains in text but are file names.
_FILE_ENDINGS = frozenset(
    "pdf png jpg jpeg gif txt doc docx xls xlsx csv zip eml log html htm py js exe".split()
)


def phone_numbers(text: str, regions: Sequence[str]) -> list[str]:
    """Return the valid phone numbers written in ``text``, as E.164 digits without the +
    (``8 (495) 123-45-67`` with region RU gives ``74951234567``)."""
    found: list[str] = []
    for match in _PHONE.finditer(text or ""):
        number = phone_number(match.group(0), regions)
        if number and number not in found:
            found.append(number)
    return found


def phone_number(raw: str, regions: Sequence[str]) -> str:
    """Return ``raw`` as E.164 digits (no +) if it is a valid number, read in the first of
    ``regions`` it is valid in when it has no country code; else ""."""
    return _phone_number((raw or "").strip(), tuple(regions))


# Remembered: libphonenumber tries each region in turn (~0.3 ms a number), and an import
# meets most numbers more than once (a subject's and its message's; in the ingest bench
# 3,000 checks of 2,000 numbers a 1,000 mails).
@functools.lru_cache(maxsize=4096)
def _phone_number(text: str, regions: tuple[str, ...]) -> str:
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return ""
    if text.startswith("00"):
        text = "+" + text.lstrip("0")
    candidates = [None] if text.startswith("+") else list(regions)
    for region in candidates:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
    return ""


def domains(host: str) -> list[str]:
    """Return ``host`` and its parent domains down to the registrable part
    (``shop.northwind.example`` → itself and ``northwind.example``)."""
    parts = host.lower().strip(".").split(".")
    if len(parts) < 2 or parts[-1] in _FILE_ENDINGS:
        return []
    return [".".join(parts[i:]) for i in range(len(parts) - 1)]


def identifiers(
    text: str, *, regions: Sequence[str], extra: Iterable[str] = (), filenames: Iterable[str] = ()
) -> list[str]:
    """Return the identifiers in ``text`` as index lexemes: addresses and their domains,
    host names and parent domains, phone numbers as E.164 digits, codes with digits;
    ``extra`` (sender addresses) and ``filenames`` are added whole and in parts."""
    out: dict[str, None] = {}

    def add(value: str) -> None:
        value = value.strip().lower().strip(".,;:")
        if value and len(value) <= MAX_IDENTIFIER_CHARS and len(out) < MAX_IDENTIFIERS:
            out[value] = None

    sample = (text or "")[:MAX_INDEXED_CHARS]
    for value in extra:
        for match in _EMAIL.finditer(value or ""):
            add(match.group(0))
            for domain in domains(match.group(1)):
                add(domain)
    # An address has an @: without one the pattern, which tries every start of every
    # word, finds nothing (most messages write no address: a fifth of this function).
    for match in _EMAIL.finditer(sample) if "@" in sample else ():
        add(match.group(0))
        for domain in domains(match.group(1)):
            add(domain)
    for match in _HOST.finditer(sample):
        for domain in domains(match.group(1)):
            add(domain)
    for number in phone_numbers(sample, regions):
        add(number)
    for match in _CODE.finditer(sample):
        add(match.group(0))
    for name in filenames:
        add(name)
        for part in re.split(r"[^\w]+|_", name):
            if len(part) >= 2:
                add(part)
    return list(out)
