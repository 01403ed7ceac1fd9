"""Pull the identifiers a problem is about out of free text: domains, order, ticket and
invoice numbers, URLs, e-mail addresses, error codes and IP addresses.

Pure Python (no Django). Two tickets naming the same domain or order are likely about the
same thing; two tickets naming *different* domains of the same kind are likely not.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping

from tickets.text import find_references

# Identifier kinds, strongest first. "error" is weak evidence: many products share codes.
# "reference" is any other code a system gave out: a job, certificate or shipment number.
STRONG_KINDS = ("order", "invoice", "ticket", "reference", "domain", "url", "email", "ip")
WEAK_KINDS = ("error",)
KINDS = STRONG_KINDS + WEAK_KINDS
# Kinds whose values, when both tickets have some and none match, point at different things.
CONFLICT_KINDS = ("order", "invoice", "domain", "email")

_EMAIL = re.compile(r"\b[a-z0-9._%+-]+@((?:[a-z0-9-]+\.)+[a-z]{2,24})\b", re.I)
_URL = re.compile(r"\bhttps?://[^\s<>\"')\]]+", re.I)
# Internationalised names too (bäckerei-moser.at, теплыйдом.рф).
_DOMAIN = re.compile(
    r"(?<![@\w.-])(?:www\.)?((?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][\w-]{1,23})"
    r"(?![\w-]|\.\w)",
    re.I,
)
# Domains every desk's tickets mention in passing (mail providers, platforms): naming one
# says nothing about which problem a ticket is about.
UBIQUITOUS_DOMAINS = frozenset(
    "gmail.com google.com googlemail.com outlook.com hotmail.com live.com microsoft.com "
    "office.com yahoo.com icloud.com apple.com me.com mail.ru yandex.ru ya.ru yandex.com "
    "disk.yandex.ru bk.ru list.ru inbox.ru rambler.ru vk.com facebook.com instagram.com "
    "paypal.com github.com gmx.de web.de t-online.de proton.me protonmail.com aol.com "
    "ziggo.nl kpnmail.nl".split()
)
# File names and versions look like domains; their "TLDs" are extensions.
_NOT_TLDS = frozenset(
    "png jpg jpeg gif pdf txt log php html htm js css csv zip gz tar exe doc docx xls xlsx "
    "json xml eml msg py sh bat ini cfg conf yml yaml md rar mov mp4 svg bak sql tmp dll".split()
)
_ORDER = re.compile(
    r"(?:\b(?:orders?|bestelling(?:en)?|bestellung(?:en)?|auftrag|pedidos?|purchase|po"
    r"|заказ(?:а|у|ы|ов|ам|ах)?|по заказу)|№)\s*(?:id|no\.?|nr\.?|number|num|#|№)?\s*[:#]?\s*"
    r"#?([A-Z]{0,4}-?\d[\dA-Z-]{2,})((?:\s*(?:,|and|и|y|en|und)\s*#?[A-Z]{0,4}-?\d[\dA-Z-]{2,})*)",
    re.I,
)
_MORE_NUMBERS = re.compile(r"[A-Z]{0,4}-?\d[\dA-Z-]{2,}", re.I)
_INVOICE = re.compile(
    r"\b(?:invoice|factuur|inv|bill)\s*(?:id|no\.?|nr\.?|number|#)?\s*[:#]?\s*"
    r"#?([A-Z]{0,4}-?\d[\dA-Z-]{3,})\b",
    re.I,
)
_INVOICE_TOKEN = re.compile(r"\bINV-?\d{2,}(?:-\d+)*\b", re.I)
_ERROR = re.compile(
    r"\b(?:error|err|code|status|exception|fout|fehler|ошибк[аиу]|error de)\s*(?:code)?\s*[:#]?\s*"
    r"\"?\s*:?\s*([A-Z]{1,6}[-_]?\d{2,6}|\d{3,6}|0x[0-9a-f]{4,8})\b",
    re.I,
)
_ERROR_TOKEN = re.compile(
    r"\b(ERR_[A-Z_]{3,}|[A-Z]{2,}(?:_[A-Z]{2,}){1,4}|0x[0-9A-F]{8}|HTTP\s?[45]\d\d)\b"
)
# HTTP statuses and the like: every product has them, so they link no two accounts.
GENERIC_ERRORS = frozenset(
    "400 401 403 404 405 408 409 410 413 422 429 500 501 502 503 504 HTTP400 HTTP401 HTTP403 "
    "HTTP404 HTTP429 HTTP500 HTTP502 HTTP503 HTTP504".split()
)
# "BJ-20260525-7731", "SSL-552913", "NS-20270326-014": letters, a dash, a number.
# Standards and status codes ("ISO-8859", "HTTP-404") have the same shape.
_REFERENCE = re.compile(r"\b(?!(?:HTTP|ERR|ERROR|ISO|UTF|RFC)-)[A-Z]{2,6}-\d{3,}(?:-\d+)*\b")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.I)
_RESELLER = re.compile(r"\breseller\s*(?:id|no\.?|number|#)?\s*[:#]?\s*\d+", re.I)


def extract_identifiers(text: str, ticket_prefix: str = "SD") -> dict[str, set[str]]:
    """Return identifiers found in ``text``, by kind, normalised (lower case, no www.)."""
    found: dict[str, set[str]] = {kind: set() for kind in KINDS}
    text = _RESELLER.sub(" ", text or "")  # every ticket of an account quotes it: no evidence
    found["ticket"].update(find_references(text, ticket_prefix))
    # A pattern whose every match holds a literal is not run over a text without it: a
    # URL needs "://", an address "@", an IPv4 address three dots, an IPv6 one two
    # colons, an error token "_", "0x" or "HTTP". Most tickets name none of them, and
    # those passes were ~40% of this function (the same identifiers:
    # tests/duplicates/test_text_pure.py).
    without_urls = text
    if "://" in text:
        for match in _URL.finditer(text):
            url = match.group(0).rstrip(".,;:!?")
            found["url"].add(_normalise_url(url))
            host = re.sub(r"^https?://", "", url, flags=re.I).split("/")[0].split(":")[0]
            _add_domain(found, host)
        without_urls = _URL.sub(" ", text)
    without_emails = without_urls
    if "@" in without_urls:
        for match in _EMAIL.finditer(without_urls):
            found["email"].add(match.group(0).lower())
        without_emails = _EMAIL.sub(" ", without_urls)
    for match in _DOMAIN.finditer(without_emails):
        _add_domain(found, match.group(1))
    for match in _ORDER.finditer(text):
        found["order"].add(_normalise_number(match.group(1)))
        for more in _MORE_NUMBERS.findall(match.group(2) or ""):
            found["order"].add(_normalise_number(more))
    for match in _INVOICE.finditer(text):
        found["invoice"].add(_normalise_number(match.group(1)))
    for match in _INVOICE_TOKEN.finditer(text):
        found["invoice"].add(_normalise_number(match.group(0)))
    for match in _ERROR.finditer(without_emails):
        found["error"].add(match.group(1).upper())
    if "_" in without_emails or "0x" in without_emails or "HTTP" in without_emails:
        for match in _ERROR_TOKEN.finditer(without_emails):
            found["error"].add(match.group(1).upper().replace(" ", ""))
    named = found["order"] | found["invoice"] | found["ticket"]
    for match in _REFERENCE.finditer(without_emails):
        value = _normalise_number(match.group(0))
        if value not in named and not match.group(0).upper().startswith(
            f"{ticket_prefix.upper()}-"
        ):
            found["reference"].add(value)
    candidates = _IPV4.findall(without_urls) if without_urls.count(".") >= 3 else []
    if without_urls.count(":") >= 2:
        candidates += _IPV6.findall(without_urls)
    for candidate in candidates:
        try:
            found["ip"].add(str(ipaddress.ip_address(candidate)))
        except ValueError:
            continue
    return {kind: values for kind, values in found.items() if values}


def shared_identifiers(
    a: Mapping[str, Collection[str]], b: Mapping[str, Collection[str]]
) -> dict[str, set[str]]:
    """Return the identifiers both ``a`` and ``b`` name, by kind."""
    shared: dict[str, set[str]] = {}
    # Most pairs name few kinds, and few of them both: only those are walked (in
    # ``KINDS`` order, as before), no sets built for the others. A batch scores ~10
    # pairs a mail; walking every kind was ~1% of an import's worker CPU.
    both = a.keys() & b.keys()
    if not both:
        return shared
    for kind in KINDS:
        if kind in both and (mine := a[kind]) and (theirs := b[kind]):
            if values := set(mine) & set(theirs):
                shared[kind] = values
    return shared


def conflicting_kinds(
    a: Mapping[str, Collection[str]], b: Mapping[str, Collection[str]]
) -> list[str]:
    """Return the kinds where both name identifiers but none in common (different objects)."""
    return [
        kind
        for kind in CONFLICT_KINDS
        if a.get(kind) and b.get(kind) and not set(a[kind]) & set(b[kind])
    ]


def _add_domain(found: dict[str, set[str]], host: str) -> None:
    host = host.lower().strip(".")
    if host.startswith("www."):
        host = host[4:]
    tld = host.rsplit(".", 1)[-1]
    if "." not in host or tld in _NOT_TLDS or tld.isdigit() or host in UBIQUITOUS_DOMAINS:
        return
    found["domain"].add(host)


def _normalise_url(url: str) -> str:
    url = re.sub(r"^https?://(?:www\.)?", "", url, flags=re.I)
    host, _, rest = url.partition("/")
    return f"{host.lower()}/{rest.split('#')[0].rstrip('/')}"


def _normalise_number(value: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", value.upper()).lstrip("0") or "0"
