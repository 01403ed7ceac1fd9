"""Read RFC 5322 / RFC 2047 headers forgivingly: encoded words, raw 8-bit values,
broken address lists, Message-ID lists, dates and the RFC 3834 loop-protection headers.

Pure module (standard library only).
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from typing import Any

from .charsets import decode_text, is_utf8

_WS_RE = re.compile(r"[ \t\r\n\f\v]+")
_SPECIALS_RE = re.compile(r'[,;:<>@"()\[\]]')
_ENCODED_RUN_RE = re.compile(r"(?:=\?[^?\s]+?\?[bBqQ]\?[^?\s]*?\?=[ \t]*)+")
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+?)\?([bBqQ])\?(.*?)\?=")
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_FALLBACK_ADDR_RE = re.compile(r"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+")


def _raw_to_str(value: str, hint: str | None) -> str:
    """Turn a compat32 raw header (8-bit bytes smuggled as surrogates) into real text."""
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    return data.decode("utf-8") if is_utf8(data) else decode_text(data, hint)


def _unfold(value: str) -> str:
    return value.replace("\r\n", "").replace("\n", "").replace("\r", "")


def decode_words(value: str, hint: str | None = None) -> str:
    """Decode RFC 2047 encoded words, joining adjacent words and tolerating broken ones."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    pos = 0
    for match in _ENCODED_WORD_RE.finditer(value):
        gap = value[pos : match.start()]
        charset = match.group(1).split("*", 1)[0]
        decoded = _decode_word(match.group(2).lower(), match.group(3))
        pos = match.end()
        if decoded is None:
            out.append(gap + match.group(0))
            continue
        if pending and (gap.strip() or charset.lower() != pending_charset):
            out.append(decode_text(b"".join(pending), pending_charset or hint))
            pending = []
        if not pending:
            # Whitespace between two encoded words is folding, not content (RFC 2047 §6.2).
            out.append(gap if gap.strip() or not out else "")
        pending.append(decoded)
        pending_charset = charset.lower()
    if pending:
        out.append(decode_text(b"".join(pending), pending_charset or hint))
    out.append(value[pos:])
    return "".join(out)


def _decode_word(encoding: str, text: str) -> bytes | None:
    try:
        if encoding == "q":
            return binascii.a2b_qp(text.encode("utf-8", "surrogateescape"), header=True)
        payload = "".join(text.split())
        return binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        return None


class HeaderIndex:
    """A message's headers by lower-cased name, read once, answering ``get``, ``get_all``
    and ``in`` as the message does: compat32's ``Message.get`` lower-cases every header
    name on each of the ~20 lookups that reading one mail makes. Build it after the
    message's headers are final (``fix_8bit_headers``)."""

    __slots__ = ("_by_name", "_policy")

    def __init__(self, msg: Message) -> None:
        self._policy = msg.policy
        self._by_name: dict[str, list[tuple[str, Any]]] = {}
        for name, value in msg.raw_items():
            self._by_name.setdefault(name.lower(), []).append((name, value))

    def get(self, name: str, failobj: Any = None) -> Any:
        found = self._by_name.get(name.lower())
        return self._policy.header_fetch_parse(*found[0]) if found else failobj

    def get_all(self, name: str, failobj: Any = None) -> Any:
        found = self._by_name.get(name.lower())
        if not found:
            return failobj
        return [self._policy.header_fetch_parse(k, v) for k, v in found]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._by_name


Headers = Message | HeaderIndex


def header_text(msg: Headers, name: str, hint: str | None = None) -> str | None:
    """Return the decoded, unfolded value of header ``name`` (None when absent)."""
    raw = msg.get(name)
    if raw is None:
        return None
    return _WS_RE.sub(" ", decode_words(_unfold(str(raw)), hint)).strip(" ")


def fix_8bit_headers(part: Message, hint: str | None) -> None:
    """Replace raw 8-bit header values in place so compat32 param helpers see real text."""
    items = list(part.raw_items())
    if all(value.isascii() for _, value in items):
        return
    for name in {name for name, _ in items}:
        del part[name]
    for name, value in items:
        part[name] = _raw_to_str(value, hint)


# Address headers up to this size are remembered (the desk's own address in To:, a busy
# sender's From: come back on mail after mail; ``getaddresses`` with its strict re-parse
# is the costliest step of reading a header).
_REMEMBERED_MAX_CHARS = 2000


def header_addresses(msg: Headers, name: str, hint: str | None) -> list[tuple[str, str]]:
    """Return (display name, address) pairs, preferring pairs that hold a real address."""
    found = msg.get_all(name)
    if not found:  # most of the seven address headers read a mail are absent
        return []
    values = tuple(_quote_encoded_phrases(_raw_to_str(_unfold(str(v)), hint), hint)
                   for v in found)  # fmt: skip
    if sum(map(len, values)) > _REMEMBERED_MAX_CHARS:  # a huge list: not worth keeping
        return list(_addresses(values, hint))
    return list(_remembered_addresses(values, hint))


def _addresses(values: tuple[str, ...], hint: str | None) -> tuple[tuple[str, str], ...]:
    pairs = []
    for display, addr in getaddresses(list(values)):
        addr = addr.strip()
        if " " in addr and '"' not in addr and not any("<" in v for v in values):
            # "Name user@host" without angle brackets: the last word is the address.
            words = addr.split()
            addr, display = words[-1], display or " ".join(words[:-1])
        if "@" not in addr or "<" in addr or ">" in addr:
            found = _FALLBACK_ADDR_RE.search(addr or display)
            addr = found.group(0) if found else ("" if "<" in addr or ">" in addr else addr)
        if addr:
            pairs.append((_WS_RE.sub(" ", decode_words(display, hint)).strip(" "), addr))
    if not pairs:
        pairs = [("", m) for v in values for m in _FALLBACK_ADDR_RE.findall(v)]
    return tuple([pair for pair in pairs if "@" in pair[1]] or pairs)


_remembered_addresses = lru_cache(maxsize=1024)(_addresses)


def _quote_encoded_phrases(value: str, hint: str | None) -> str:
    """Decode encoded words whose raw text holds address specials (a "," in a Q-word).

    Such words would otherwise split one mailbox into two. Words touching "@" stay literal:
    RFC 2047 forbids encoded words in an addr-spec, and decoding them enables spoofing.
    """
    if "=?" not in value:
        return value

    def quote(match: re.Match[str]) -> str:
        before, after = (
            value[match.start() - 1 : match.start()],
            value[match.end() : match.end() + 1],
        )
        if not _SPECIALS_RE.search(match[0]) or "@" in (before + after) or before == '"':
            return match[0]
        text = decode_words(match[0].strip(), hint).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}" '

    return _ENCODED_RUN_RE.sub(quote, value)


def message_ids(value: str | None) -> list[str]:
    """Return the Message-IDs (without angle brackets) in a Message-ID-like header value."""
    if not value:
        return []
    ids = _MSGID_RE.findall(value)
    return ids or [tok.strip("<>") for tok in value.split() if "@" in tok]


def parse_date(value: str | None, defects: list[str]) -> datetime | None:
    """Return the Date header as an aware datetime, or None (noting why in ``defects``)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unparseable Date header: {value[:80]!r}")
        return None
    # "-0000" means "timezone unknown"; UTC is the only honest aware choice.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def loop_flags(msg: Headers, from_email: str, report_type: str | None) -> dict:
    """Return the loop-protection headers and the auto-reply / bulk / bounce flags."""
    auto_submitted = header_text(msg, "auto-submitted")
    precedence = header_text(msg, "precedence")
    list_id = header_text(msg, "list-id")
    x_autoreply = next(
        (
            v
            for n in ("x-autoreply", "x-autorespond", "x-autoresponder")
            if (v := header_text(msg, n))
        ),
        None,
    )
    return_path = header_text(msg, "return-path")
    local_part = from_email.rpartition("@")[0].lower() if "@" in from_email else from_email.lower()
    daemon = local_part in ("mailer-daemon", "postmaster")
    is_bounce = report_type == "delivery-status" or local_part == "mailer-daemon"
    is_bounce = is_bounce or (daemon and report_type is not None)
    prec = (precedence or "").lower()
    is_auto_reply = (
        bool(auto_submitted and auto_submitted.split(";")[0].strip().lower() != "no")
        or bool(x_autoreply and x_autoreply.lower() not in ("no", "false", "0"))
        or prec == "auto_reply"
        or daemon
        or is_bounce
        or (return_path or "").replace(" ", "") == "<>"
    )
    return {
        "auto_submitted": auto_submitted,
        "precedence": precedence,
        "list_id": list_id,
        "x_autoreply": x_autoreply,
        "x_auto_response_suppress": header_text(msg, "x-auto-response-suppress"),
        "return_path": return_path,
        "is_auto_reply": is_auto_reply,
        "is_bulk": prec in ("bulk", "junk", "list") or bool(list_id) or "list-unsubscribe" in msg,
        "is_bounce": is_bounce,
    }
