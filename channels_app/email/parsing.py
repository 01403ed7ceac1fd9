"""Parse raw RFC 5322 email bytes into an immutable ``ParsedEmail``.

Pure module (standard library + nh3, no Django) so it can be tested and benchmarked alone.
MIME structure comes from the stdlib ``compat32`` policy, which is about ten times faster
than ``email.policy.default`` (see bench/email_parse.py); headers (``headers.py``), charsets
(``charsets.py``), HTML (``html_text.py``) and MIME parts (``mime.py``) are decoded
forgivingly: broken input yields a best-effort result plus ``defects``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.errors import MissingHeaderBodySeparatorDefect
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from .charsets import codec_name, decode_text
from .headers import (
    HeaderIndex,
    fix_8bit_headers,
    header_addresses,
    header_text,
    loop_flags,
    message_ids,
    parse_date,
)
from .html_text import merge_segments, sanitize_html
from .mime import Attachment, MimeWalker, safe_filename
from .parts import Part

__all__ = [
    "Attachment",
    "EmailParseError",
    "ParsedEmail",
    "decode_text",
    "parse_email",
    "safe_filename",
]

SYNTHETIC_ID_DOMAIN = "synthesized.supportdesk.invalid"
# Headers whose presence makes a blob of bytes plausibly an email.
_EMAIL_HEADERS = frozenset(
    {"from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
     "mime-version", "content-type", "sender", "reply-to", "delivered-to", "x-mailer"}
)  # fmt: skip
_BLANK_LINE_RE = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE_RE = re.compile(rb"^[!-9;-~]+:")
_HEADER_MSGID_RE = re.compile(rb"^Message-ID:[ \t]*<([^<>\s]+)>", re.I | re.M)
_HEADER_START_RE = re.compile(
    rb"^(?:Return-Path|Received|From|Date|Subject|Message-ID|To|Delivered-To|MIME-Version):",
    re.I | re.M,
)


class EmailParseError(ValueError):
    """Raised only when the input cannot be an email at all (empty, no headers)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    # Envelope recipients a mail server recorded (Delivered-To, X-Original-To, Envelope-To).
    delivered_to: tuple[str, ...] = ()
    # report-type of a multipart/report: "delivery-status" (bounce), "feedback-report" (ARF).
    report_type: str | None = None

    @property
    def is_automated(self) -> bool:
        """Return whether no automatic reply must be sent to this message (RFC 3834)."""
        return self.is_auto_reply or self.is_bulk or self.is_bounce


# --- entry point ----------------------------------------------------------------------------

_PARSER = BytesParser(Part, policy=compat32)


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
    fix_8bit_headers(msg, hint)
    walker = MimeWalker(hint)
    walker.walk(msg, 0)
    defects += walker.defects
    for part in msg.walk():
        for defect in part.defects:
            doc = (type(defect).__doc__ or "").strip().splitlines()
            defects.append(f"{type(defect).__name__}: {doc[0] if doc else defect}")

    msg_headers = HeaderIndex(msg)
    senders = header_addresses(msg_headers, "from", hint)
    if not any("@" in addr for _, addr in senders):
        for name in ("sender", "reply-to", "return-path"):
            if fallback := [p for p in header_addresses(msg_headers, name, hint) if "@" in p[1]]:
                defects.append(f"no usable From address; using {name.title()}")
                senders = fallback
                break
    from_name, from_email = senders[0] if senders else ("", "")
    ids = message_ids(header_text(msg_headers, "message-id"))
    text = "\n".join(seg.as_text() for seg in walker.segments)
    merged = merge_segments(walker.segments)
    body_html = sanitize_html(merged.html) if merged and merged.html is not None else None
    loop = loop_flags(msg_headers, from_email, walker.report_type)
    bounced = walker.inner_message_id
    if loop["is_bounce"] and not bounced:
        found = _HEADER_MSGID_RE.search(text.encode("utf-8", "replace"))
        bounced = found.group(1).decode("utf-8", "replace") if found else None
    return ParsedEmail(
        message_id=ids[0] if ids else _synthetic_id(raw),
        message_id_synthesized=not ids,
        in_reply_to=next(iter(message_ids(header_text(msg_headers, "in-reply-to"))), None),
        references=tuple(message_ids(header_text(msg_headers, "references"))),
        subject=header_text(msg_headers, "subject", hint) or "",
        from_email=from_email,
        from_name=from_name,
        to=tuple(addr for _, addr in header_addresses(msg_headers, "to", hint)),
        cc=tuple(addr for _, addr in header_addresses(msg_headers, "cc", hint)),
        reply_to=tuple(addr for _, addr in header_addresses(msg_headers, "reply-to", hint)),
        date=parse_date(header_text(msg_headers, "date"), defects),
        text=text,
        html=body_html,
        attachments=tuple(walker.attachments),
        bounced_message_id=bounced if loop["is_bounce"] else None,
        defects=tuple(dict.fromkeys(defects)),
        delivered_to=tuple(
            addr
            for name in ("delivered-to", "x-original-to", "envelope-to")
            for _, addr in header_addresses(msg_headers, name, hint)
        ),
        report_type=walker.report_type,
        **loop,
    )


def _charset_hint(msg: Message) -> str | None:
    """Return the first non-ASCII charset declared in the message, for raw 8-bit headers."""
    for part in msg.walk():
        # get_param parses every parameter of the header; most parts (and every part
        # without a Content-Type) declare no charset at all.
        declared = part.get("content-type")
        if declared is None or "charset" not in str(declared).lower():
            continue
        charset = part.get_param("charset")
        codec = codec_name(charset) if isinstance(charset, str) else None
        if codec and codec not in ("ascii", "cp1252"):
            return codec
    return None


def _parse_structure(raw: bytes, defects: list[str]) -> Message:
    """Parse the MIME tree, repairing the two header-block breakages seen in the wild."""
    raw = raw.lstrip(b"\r\n")  # leading blank lines would turn every header into body
    msg = _parse_single_part(raw) or _PARSER.parsebytes(raw)
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


def _parse_single_part(raw: bytes) -> Message | None:
    """Return what ``_PARSER`` returns for a mail that is one part with a clean header
    block, or a multipart of such parts (``_multipart``); None for any other mail
    (message/*, nested multiparts, a header line the feed parser would treat as a defect,
    body or envelope line): those go to the feed parser.

    For such a mail the feed parser splits the text into lines, reads the header lines
    and keeps the rest of the text, as it is, as the payload; doing just that skips its
    line buffer and its generator's work on every line of the body.
    """
    text = raw.decode("ascii", "surrogateescape")  # as BytesParser decodes it
    lines = _LINE_RE.findall(text)
    msg, body = _part(lines, 0, len(lines))
    if msg is None:
        return None
    if msg.get_content_maintype() == "multipart":
        return _multipart(msg, lines, body)
    if msg.get_content_maintype() == "message":
        return None
    msg.set_payload("".join(lines[body:]))
    return msg


def _part(lines: list[str], start: int, end: int) -> tuple[Part | None, int]:
    """Read the clean header block of ``lines[start:end]``; return the message with those
    headers and the index of its first body line (None: not clean, or no blank line)."""
    sources: list[list[str]] = []
    for index in range(start, end):
        value = lines[index]
        if value in ("\n", "\r\n", "\r"):
            break  # the blank line between header and body
        if value[0] in " \t":
            if not sources:
                return None, 0  # a continuation first: a defect
            sources[-1].append(value)
        elif _FIELD_RE.match(value) and not value.startswith("From "):
            sources.append([value])
        else:
            return None, 0  # no "Name:", an envelope line: the feed parser's cases
    else:
        return None, 0  # the text ended inside the header block
    msg = Part(policy=compat32)
    for source in sources:
        msg.set_raw(*compat32.header_source_parse(source))
    return msg, index + 1


def _multipart(msg: Part, lines: list[str], body: int) -> Message | None:
    """Split a multipart's body as the feed parser does (RFC 2046: the line break before a
    boundary belongs to it) when it is simple: a start and a close boundary, one or more
    parts between them, each one part with a clean header block. Return None for anything
    else (no boundary, a nested multipart or message/*, a digest, boundaries back to back,
    a missing close boundary, an encoded multipart): the feed parser's defects and cases."""
    boundary = msg.get_boundary()
    encoding = str(msg.get("content-transfer-encoding", "8bit")).lower()
    if boundary is None or msg.get_content_type() == "multipart/digest":
        return None
    if encoding not in ("7bit", "8bit", "binary"):
        return None
    separator = "--" + boundary
    marks = [  # (index, whether closing, its line break) of each boundary line
        (index, bool(found.group("end")), found.group("linesep"))
        for index in range(body, len(lines))
        if lines[index].startswith(separator)
        and (found := _BOUNDARY_END_RE.match(lines[index], len(separator)))
    ]
    close = next((n for n, (_, closing, _) in enumerate(marks) if closing), None)
    if close is None or close == 0:
        return None  # no close boundary, or no start boundary before it
    marks = marks[: close + 1]
    if any(b[0] == a[0] + 1 for a, b in zip(marks, marks[1:], strict=False)):
        return None  # boundaries back to back: the feed parser skips the second
    if body < marks[0][0]:  # a preamble; its last line break belongs to the boundary
        preamble = lines[body : marks[0][0]]
        preamble[-1] = _EOL_RE.sub("", preamble[-1], count=1)
        msg.preamble = "".join(preamble)
    for (start, _, _), (end, _, _) in zip(marks, marks[1:], strict=False):
        part, part_body = _part(lines, start + 1, end)
        if part is None or part.get_content_maintype() in ("multipart", "message"):
            return None
        payload = "".join(lines[part_body:end])
        found = _EOL_RE.search(payload)
        part.set_payload(payload[: found.start()] if found else payload)
        msg.attach(part)
    epilogue = [""] if marks[-1][2] else []
    epilogue += lines[marks[-1][0] + 1 :]
    if epilogue and (found := _BOL_RE.match(epilogue[0])):
        epilogue[0] = epilogue[0][found.end() :]
    msg.epilogue = "".join(epilogue)
    return msg


# A line as the feed parser splits text (universal newlines), and a field's "Name:".
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_FIELD_RE = re.compile(r"[\041-\071\073-\176]+:")
# The feed parser's (email.feedparser, Python 3.11): what follows "--boundary" on a
# boundary line, a line break ending a text and one starting it.
_BOUNDARY_END_RE = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
_EOL_RE = re.compile(r"(\r\n|\r|\n)\Z")
_BOL_RE = re.compile(r"(\r\n|\r|\n)")


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
