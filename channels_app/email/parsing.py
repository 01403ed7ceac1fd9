"""Parse raw RFC 5322 email bytes into an immutable ``ParsedEmail``.

Pure module (standard library + nh3, no Django) so it can be tested and benchmarked alone.
MIME structure comes from the stdlib ``compat32`` policy, which is about ten times faster
than ``email.policy.default`` (see bench/email_parse.py); headers, charsets and bodies are
decoded here, forgivingly: broken input yields a best-effort result plus ``defects``.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import html
import quopri
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import InvalidBase64LengthDefect, MissingHeaderBodySeparatorDefect
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

import nh3

__all__ = ["Attachment", "EmailParseError", "ParsedEmail", "decode_text", "parse_email"]

MAX_MIME_DEPTH = 30
SYNTHETIC_ID_DOMAIN = "synthesized.supportdesk.invalid"

# Headers whose presence makes a blob of bytes plausibly an email.
_EMAIL_HEADERS = frozenset(
    {"from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
     "mime-version", "content-type", "sender", "reply-to", "delivered-to", "x-mailer"}
)  # fmt: skip
# Declared charsets that mail clients mislabel or that Python lacks: map to supersets.
_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "iso-2022-jp": "iso2022_jp_ext", "big5": "big5hkscs",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso-8859-8-i": "iso-8859-8", "tis-620": "cp874",
    "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8",
}  # fmt: skip
# Codecs whose bytes are pure ASCII, so the ASCII fast path would be wrong for them.
_SEVEN_BIT_CODECS = ("iso2022", "utf-7", "utf_7", "hz")
# Related charsets to try when the declared one fails (mislabelled CJK mail is common).
_FAMILY_FALLBACKS = {
    "iso2022_jp_ext": ("iso2022_jp_2004",), "cp932": ("euc_jis_2004",),
    "euc_jp": ("euc_jis_2004", "cp932"), "gb18030": ("big5hkscs",), "big5hkscs": ("gb18030",),
}  # fmt: skip
_HIGH_BYTE_RE = re.compile(rb"[\x80-\xff]")
_UTF8_SEQ_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_JIS_RUN_RE = re.compile(rb"\x1b\$[@B]([^\x1b]*)")
_JIS_ESCAPE_RE = re.compile(rb"\x1b\([BJ]")
_WS_RE = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_LINE_RE = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE_RE = re.compile(rb"^[!-9;-~]+:")
_SPECIALS_RE = re.compile(r'[,;:<>@"()\[\]]')
_ENCODED_RUN_RE = re.compile(r"(?:=\?[^?\s]+?\?[bBqQ]\?[^?\s]*?\?=[ \t]*)+")
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+?)\?([bBqQ])\?(.*?)\?=")
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_FALLBACK_ADDR_RE = re.compile(r"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+")
_UNSAFE_FILENAME_RE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]+')
_BLOCK_TAG_RE = re.compile(
    r"<\s*(?:/?\s*(?:p|div|tr|li|h[1-6]|table|blockquote|ul|ol|pre)|br|hr)\b[^>]*>", re.I
)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_HEADER_MSGID_RE = re.compile(rb"^Message-ID:[ \t]*<([^<>\s]+)>", re.I | re.M)
_HEADER_START_RE = re.compile(
    rb"^(?:Return-Path|Received|From|Date|Subject|Message-ID|To|Delivered-To|MIME-Version):",
    re.I | re.M,
)
_FALLBACK_EXT = {
    "text/plain": ".txt", "text/html": ".html", "message/rfc822": ".eml",
    "message/delivery-status": ".txt", "text/rfc822-headers": ".txt", "image/jpeg": ".jpg",
    "image/png": ".png", "image/gif": ".gif", "application/pdf": ".pdf", "text/calendar": ".ics",
}  # fmt: skip

_HTML_CLEANER = nh3.Cleaner(
    tags={
        "a", "b", "blockquote", "br", "code", "div", "em", "font", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong",
        "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    },
    clean_content_tags={"script", "style", "head", "title", "noscript", "iframe", "object"},
    attributes={
        "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
        "td": {"colspan", "rowspan", "align", "valign"}, "th": {"colspan", "rowspan", "align"},
        "font": {"color"}, "*": {"style", "dir", "lang"},
    },
    url_schemes={"http", "https", "mailto", "tel", "cid"},
    filter_style_properties={
        "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
        "text-align", "text-decoration", "margin", "padding", "border", "width", "height",
    },
    strip_comments=True,
)  # fmt: skip
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(), clean_content_tags={"script", "style", "head", "title"}, strip_comments=True
)


class EmailParseError(ValueError):
    """Raised only when the input cannot be an email at all (empty, no headers)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-body MIME part, decoded to bytes."""

    filename: str
    content_type: str
    payload: bytes
    size: int
    sha256: str
    content_id: str | None = None
    is_inline: bool = False
    charset: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """The parts of an email a helpdesk needs; sequences are tuples so it stays immutable."""

    message_id: str
    message_id_synthesized: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_email: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    auto_submitted: str | None
    precedence: str | None
    list_id: str | None
    x_autoreply: str | None
    x_auto_response_suppress: str | None
    return_path: str | None
    is_auto_reply: bool
    is_bulk: bool
    is_bounce: bool
    bounced_message_id: str | None
    defects: tuple[str, ...]

    @property
    def is_automated(self) -> bool:
        """Return whether no automatic reply must be sent to this message (RFC 3834)."""
        return self.is_auto_reply or self.is_bulk or self.is_bounce


# --- charsets and headers ---------------------------------------------------------------


@lru_cache(maxsize=256)
def _codec_name(charset: str | None) -> str | None:
    """Return a Python codec name for a declared MIME charset, or None if unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None) -> str:
    """Decode bytes using the declared charset, falling back to UTF-8, then CP1252/Latin-1.

    Never raise: a wrong or unknown declared charset degrades to a best-effort decode.
    """
    codec = _codec_name(charset)
    if codec is None and b"\x1b$" in data:
        codec = "iso2022_jp_ext"  # undeclared ISO-2022-JP is recognisable by its escapes
    seven_bit = bool(codec and codec.startswith(_SEVEN_BIT_CODECS))
    if data.isascii() and not seven_bit:
        return data.decode("ascii")
    if codec == "cp1252" and _is_utf8(data):
        # Mails declared Latin-1/ASCII are very often really UTF-8; valid multi-byte UTF-8
        # almost never occurs by accident in genuine Latin-1 text.
        return data.decode("utf-8")
    candidates = [codec, *_FAMILY_FALLBACKS.get(codec or "", ())]
    if codec and codec.startswith("iso2022_jp") and not data.isascii():
        candidates += ["cp932", "euc_jis_2004"]  # 8-bit Japanese mislabelled as ISO-2022-JP
    if not (seven_bit and data.isascii()):
        candidates.append("utf-8")  # pure ASCII "decodes" as UTF-8 but says nothing
    for name in candidates:
        if name:
            try:
                return data.decode(name)
            except (UnicodeDecodeError, LookupError):
                pass
    if codec and codec.startswith("iso2022_jp"):
        return _lenient_iso2022_jp(data)
    if _mostly_utf8(data):
        return data.decode("utf-8", _MIXED_UTF8_ERRORS)
    if codec and codec not in ("utf-8", "cp1252", "latin-1", "ascii"):
        return data.decode(codec, "replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the bytes UTF-8 rejected as CP1252 (Latin-1 for its five undefined bytes)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in bad), exc.end


_MIXED_UTF8_ERRORS = "supportdesk-cp1252-fallback"
codecs.register_error(_MIXED_UTF8_ERRORS, _cp1252_fallback)


def _mostly_utf8(data: bytes) -> bool:
    """Return whether most 8-bit bytes form valid UTF-8 (text pasted from two sources)."""
    high = len(_HIGH_BYTE_RE.findall(data))
    in_utf8 = sum(len(seq) for seq in _UTF8_SEQ_RE.findall(data))
    return in_utf8 * 2 >= high > 0


def _lenient_iso2022_jp(data: bytes) -> str:
    """Decode ISO-2022-JP with Windows (CP50220) extensions such as circled digits.

    JIS X 0208 runs are shifted to EUC and decoded as EUC-JIS-2004, whose rows 13+ hold
    the NEC extension characters that the strict ISO-2022-JP codecs reject.
    """
    out = _JIS_RUN_RE.sub(lambda m: bytes(b | 0x80 if b > 0x20 else b for b in m[1]), data)
    return _JIS_ESCAPE_RE.sub(b"", out).decode("euc_jis_2004", "replace")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _raw_to_str(value: str, hint: str | None) -> str:
    """Turn a compat32 raw header (8-bit bytes smuggled as surrogates) into real text."""
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    return data.decode("utf-8") if _is_utf8(data) else decode_text(data, hint)


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


def _header(msg: Message, name: str, hint: str | None = None) -> str | None:
    raw = msg.get(name)
    if raw is None:
        return None
    return _WS_RE.sub(" ", decode_words(_unfold(str(raw)), hint)).strip(" ")


def _fix_8bit_headers(part: Message, hint: str | None) -> None:
    """Replace raw 8-bit header values in place so compat32 param helpers see real text."""
    items = list(part.raw_items())
    if all(value.isascii() for _, value in items):
        return
    for name in {name for name, _ in items}:
        del part[name]
    for name, value in items:
        part[name] = _raw_to_str(value, hint)


def _addresses(msg: Message, name: str, hint: str | None) -> list[tuple[str, str]]:
    """Return (display name, address) pairs, preferring pairs that hold a real address."""
    values = [_quote_encoded_phrases(_raw_to_str(_unfold(str(v)), hint), hint)
              for v in msg.get_all(name, [])]  # fmt: skip
    pairs = []
    for display, addr in getaddresses(values):
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
    return [pair for pair in pairs if "@" in pair[1]] or pairs


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


def _msg_ids(value: str | None) -> list[str]:
    if not value:
        return []
    ids = _MSGID_RE.findall(value)
    return ids or [tok.strip("<>") for tok in value.split() if "@" in tok]


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unparseable Date header: {value[:80]!r}")
        return None
    # "-0000" means "timezone unknown"; UTC is the only honest aware choice.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- bodies -------------------------------------------------------------------------------


def html_to_text(markup: str) -> str:
    """Return readable plain text for an HTML body (block tags become line breaks)."""
    # Source whitespace is insignificant in HTML; line breaks come from the block tags.
    markup = _BLOCK_TAG_RE.sub(lambda m: "\n" + m.group(0), " ".join(markup.split()))
    text = html.unescape(_TEXT_CLEANER.clean(markup))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def sanitize_html(markup: str) -> str:
    """Return HTML safe to show agents: no scripts, handlers or javascript: URLs."""
    return _HTML_CLEANER.clean(markup)


def _plain_to_html(text: str) -> str:
    return "<div>" + html.escape(text).replace("\n", "<br>\n") + "</div>"


@dataclass(slots=True)
class _Segment:
    """One body part in reading order; an alternative yields one segment with both forms."""

    plain: str | None
    html: str | None

    def as_text(self) -> str:
        return self.plain if self.plain is not None else html_to_text(self.html or "")

    def as_html(self) -> str:
        return self.html if self.html is not None else _plain_to_html(self.plain or "")


def _merge(segments: list[_Segment]) -> _Segment | None:
    if not segments:
        return None
    if any(seg.html is not None for seg in segments):
        return _Segment(None, "".join(seg.as_html() for seg in segments))
    return _Segment("\n".join(seg.as_text() for seg in segments), None)


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """Return a display-safe basename: no directories, control or reserved characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME_RE.sub("_", name).strip(" .")
    if not name:
        return fallback
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = stem[:190] + dot + ext[:9] if dot and len(ext) < 10 else name[:200]
    return name


def _message_bytes(part: Message) -> bytes:
    """Return the body of a message/* part as bytes, undoing a (non-standard) CTE."""
    payload = part.get_payload()
    if isinstance(payload, list):
        data = b"".join(sub.as_bytes() for sub in payload)
    else:
        data = str(payload).encode("utf-8", "surrogateescape")
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte == "base64":
        return binascii.a2b_base64(b"".join(data.split()))
    if cte == "quoted-printable":
        return quopri.decodestring(data)
    return data


def _fallback_filename(part: Message, ctype: str, content_id: str | None, hint: str | None) -> str:
    """Name a part that has no filename: its description, its Content-ID, or its type."""
    ext = _FALLBACK_EXT.get(ctype, "")
    local = (content_id or "").split("@", 1)[0]
    if description := _header(part, "content-description", hint):
        name = description
    elif ctype == "message/delivery-status":
        name = "delivery-status"
    elif "." in local[-6:]:
        return local  # Outlook names inline images "image001.jpg@01D..."
    else:
        name = "attachment"
    return name if "." in name[-6:] else name + ext


class _Walker:
    """Walk the MIME tree once, sorting leaves into body segments and attachments."""

    def __init__(self, hint: str | None) -> None:
        self.hint = hint
        self.segments: list[_Segment] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.report_type: str | None = None
        self.inner_message_id: str | None = None

    def walk(self, part: Message, depth: int) -> None:
        if depth > MAX_MIME_DEPTH:
            self.defects.append(f"MIME nesting deeper than {MAX_MIME_DEPTH} levels ignored")
            return
        try:
            _fix_8bit_headers(part, self.hint)
            ctype = part.get_content_type()
            if part.get_content_maintype() == "message":
                self._message(part, ctype)
            elif part.is_multipart():
                self._multipart(part, ctype, depth)
            else:
                self._leaf(part, ctype)
        except Exception as exc:  # noqa: BLE001 - one broken part must not lose the rest
            self.defects.append(f"skipped unreadable MIME part ({type(exc).__name__}: {exc})")

    def _multipart(self, part: Message, ctype: str, depth: int) -> None:
        subparts = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        if ctype == "multipart/report":
            self.report_type = str(part.get_param("report-type", "")).lower() or None
        if ctype == "multipart/related" and subparts:
            # RFC 2387: the root is the body; the other parts are resources it refers to.
            self.walk(subparts[0], depth + 1)
            for sub in subparts[1:]:
                if sub.is_multipart():
                    self.walk(sub, depth + 1)
                else:
                    self._leaf(sub, sub.get_content_type(), force_attachment=True)
            return
        if ctype != "multipart/alternative":
            for sub in subparts:
                self.walk(sub, depth + 1)
            return
        plain = rich = None
        for sub in subparts:
            child = _Walker(self.hint)
            child.walk(sub, depth + 1)
            self.attachments.extend(child.attachments)
            self.defects.extend(child.defects)
            self.inner_message_id = self.inner_message_id or child.inner_message_id
            merged = _merge(child.segments)
            # RFC 2046: the last alternative is the richest the sender could offer.
            if merged is not None and merged.html is not None:
                rich = merged.html
            elif merged is not None:
                plain = merged.plain
        if plain is not None or rich is not None:
            self.segments.append(_Segment(plain, rich))

    def _leaf(self, part: Message, ctype: str, force_attachment: bool = False) -> None:
        cte = part.get("content-transfer-encoding")
        if cte is not None and str(cte) != str(cte).strip().lower():
            part.replace_header("content-transfer-encoding", str(cte).strip().lower())
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if any(isinstance(d, InvalidBase64LengthDefect) for d in part.defects):
            # The stdlib then returns the still-encoded text; a stray last character is the
            # usual cause, so decode every complete 4-character group instead.
            clean = b"".join(str(part.get_payload()).encode("ascii", "ignore").split())
            data = binascii.a2b_base64(clean[: len(clean) // 4 * 4])
        filename = part.get_filename()
        disposition = (part.get_content_disposition() or "").lower()
        if ctype.startswith("multipart/"):
            ctype = "text/plain"  # boundary missing: the parser kept it as one text blob
        is_body = ctype in ("text/plain", "text/html") and not force_attachment
        if is_body and disposition != "attachment" and not filename:
            text = decode_text(data, part.get_content_charset())
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            self.segments.append(
                _Segment(text, None) if ctype == "text/plain" else _Segment(None, text)
            )
            return
        if ctype == "text/rfc822-headers" and not self.inner_message_id:
            headers = BytesHeaderParser(policy=compat32).parsebytes(data)
            self.inner_message_id = next(iter(_msg_ids(headers.get("message-id"))), None)
        self._attach(part, ctype, data, filename, disposition)

    def _message(self, part: Message, ctype: str) -> None:
        data = _message_bytes(part)
        inner = part.get_payload(0) if isinstance(part.get_payload(), list) else None
        name = part.get_filename()
        if inner is not None and ctype in ("message/rfc822", "message/global"):
            _fix_8bit_headers(inner, self.hint)
            ids = _msg_ids(_header(inner, "message-id"))
            self.inner_message_id = self.inner_message_id or next(iter(ids), None)
            subject = _header(inner, "subject", self.hint)
            name = name or (f"{subject}.eml" if subject else None)
        self._attach(part, ctype, data, name, (part.get_content_disposition() or "").lower())

    def _attach(
        self, part: Message, ctype: str, data: bytes, filename: str | None, disposition: str
    ) -> None:
        ext = _FALLBACK_EXT.get(ctype, "")
        content_id = next(iter(_msg_ids(_header(part, "content-id"))), None)
        if content_id is None and part.get("content-id"):
            content_id = str(part.get("content-id")).strip().strip("<>") or None
        if filename:
            filename = decode_words(filename, self.hint)
        else:
            filename = _fallback_filename(part, ctype, content_id, self.hint)
        charset = part.get_content_charset() if ctype.startswith("text/") else None
        self.attachments.append(
            Attachment(
                filename=safe_filename(filename, f"attachment{ext}"),
                content_type=ctype,
                payload=data,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content_id=content_id,
                is_inline=disposition == "inline" or (not disposition and content_id is not None),
                charset=charset,
            )
        )


# --- entry point ----------------------------------------------------------------------------

_PARSER = BytesParser(policy=compat32)


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse raw email bytes; raise only ``EmailParseError``, and only for non-email input."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise EmailParseError(f"expected the raw message as bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if not raw.strip():
        raise EmailParseError("empty message: there are no bytes to parse")
    try:
        return _parse(raw)
    except EmailParseError:
        raise
    except RecursionError as exc:
        raise EmailParseError("MIME structure is nested too deeply to parse") from exc
    except Exception as exc:  # noqa: BLE001 - the contract is that only EmailParseError escapes
        raise EmailParseError(
            f"unexpected parser failure ({type(exc).__name__}: {exc}); keep the raw message "
            "and report it as a parser bug"
        ) from exc


def _parse(raw: bytes) -> ParsedEmail:
    defects: list[str] = []
    msg = _parse_structure(raw, defects)
    hint = _charset_hint(msg)
    _fix_8bit_headers(msg, hint)
    walker = _Walker(hint)
    walker.walk(msg, 0)
    defects += walker.defects
    for part in msg.walk():
        for defect in part.defects:
            doc = (type(defect).__doc__ or "").strip().splitlines()
            defects.append(f"{type(defect).__name__}: {doc[0] if doc else defect}")

    senders = _addresses(msg, "from", hint)
    if not any("@" in addr for _, addr in senders):
        for name in ("sender", "reply-to", "return-path"):
            if fallback := [p for p in _addresses(msg, name, hint) if "@" in p[1]]:
                defects.append(f"no usable From address; using {name.title()}")
                senders = fallback
                break
    from_name, from_email = senders[0] if senders else ("", "")
    ids = _msg_ids(_header(msg, "message-id"))
    text = "\n".join(seg.as_text() for seg in walker.segments)
    merged = _merge(walker.segments)
    body_html = sanitize_html(merged.html) if merged and merged.html is not None else None
    loop = _loop_flags(msg, from_email, walker.report_type)
    bounced = walker.inner_message_id
    if loop["is_bounce"] and not bounced:
        found = _HEADER_MSGID_RE.search(text.encode("utf-8", "replace"))
        bounced = found.group(1).decode("utf-8", "replace") if found else None
    return ParsedEmail(
        message_id=ids[0] if ids else _synthetic_id(raw),
        message_id_synthesized=not ids,
        in_reply_to=next(iter(_msg_ids(_header(msg, "in-reply-to"))), None),
        references=tuple(_msg_ids(_header(msg, "references"))),
        subject=_header(msg, "subject", hint) or "",
        from_email=from_email,
        from_name=from_name,
        to=tuple(addr for _, addr in _addresses(msg, "to", hint)),
        cc=tuple(addr for _, addr in _addresses(msg, "cc", hint)),
        reply_to=tuple(addr for _, addr in _addresses(msg, "reply-to", hint)),
        date=_parse_date(_header(msg, "date"), defects),
        text=text,
        html=body_html,
        attachments=tuple(walker.attachments),
        bounced_message_id=bounced if loop["is_bounce"] else None,
        defects=tuple(dict.fromkeys(defects)),
        **loop,
    )


def _charset_hint(msg: Message) -> str | None:
    """Return the first non-ASCII charset declared in the message, for raw 8-bit headers."""
    for part in msg.walk():
        charset = part.get_param("charset")
        codec = _codec_name(charset) if isinstance(charset, str) else None
        if codec and codec not in ("ascii", "cp1252"):
            return codec
    return None


def _parse_structure(raw: bytes, defects: list[str]) -> Message:
    """Parse the MIME tree, repairing the two header-block breakages seen in the wild."""
    raw = raw.lstrip(b"\r\n")  # leading blank lines would turn every header into body
    msg = _PARSER.parsebytes(raw)
    if not {name.lower() for name in msg.keys()} & _EMAIL_HEADERS:
        # Some exports put a banner line ("---- Original message ----") before the headers.
        start = _HEADER_START_RE.search(raw, 0, 4096)
        if start is None or start.start() == 0:
            raise EmailParseError(
                "not an email: no RFC 5322 headers (From:, Subject:, Date: ...) at the start"
            )
        defects.append(f"skipped {start.start()} bytes of junk before the first header")
        raw = raw[start.start() :]
        msg = _PARSER.parsebytes(raw)
    if any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in msg.defects):
        repaired, count = _repair_header_block(raw)
        if count:
            defects.append(f"re-folded {count} header line(s) that lacked leading whitespace")
            msg = _PARSER.parsebytes(repaired)
    return msg


def _repair_header_block(raw: bytes) -> tuple[bytes, int]:
    """Indent stray lines in the header block that lost their folding whitespace.

    Only lines followed by further "Name:" lines are touched, so a body that merely lacks
    the blank separator line is not swallowed into a header.
    """
    end = _BLANK_LINE_RE.search(raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    lines = head.split(b"\n")
    header_rows = [i for i, line in enumerate(lines) if _HEADER_LINE_RE.match(line)]
    fixed = 0
    for i in range(1, header_rows[-1] if header_rows else 0):
        if lines[i][:1] not in (b" ", b"\t") and not _HEADER_LINE_RE.match(lines[i]):
            lines[i] = b" " + lines[i]
            fixed += 1
    return b"\n".join(lines) + rest, fixed


def _synthetic_id(raw: bytes) -> str:
    """Return a stable Message-ID for a message without one, so re-imports deduplicate."""
    return f"{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_ID_DOMAIN}"


def _loop_flags(msg: Message, from_email: str, report_type: str | None) -> dict:
    """Return the loop-protection headers and the auto-reply / bulk / bounce flags."""
    auto_submitted = _header(msg, "auto-submitted")
    precedence = _header(msg, "precedence")
    list_id = _header(msg, "list-id")
    x_autoreply = next(
        (v for n in ("x-autoreply", "x-autorespond", "x-autoresponder") if (v := _header(msg, n))),
        None,
    )
    return_path = _header(msg, "return-path")
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
        "x_auto_response_suppress": _header(msg, "x-auto-response-suppress"),
        "return_path": return_path,
        "is_auto_reply": is_auto_reply,
        "is_bulk": prec in ("bulk", "junk", "list") or bool(list_id) or "list-unsubscribe" in msg,
        "is_bounce": is_bounce,
    }
