"""Walk a parsed MIME tree once: body segments in reading order, attachments decoded.

Pure module (standard library only).
"""

from __future__ import annotations

import binascii
import hashlib
import quopri
import re
import unicodedata
from dataclasses import dataclass
from email.errors import InvalidBase64LengthDefect
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import cast

from .charsets import decode_text
from .headers import decode_words, fix_8bit_headers, header_text, message_ids
from .html_text import Segment, merge_segments

MAX_MIME_DEPTH = 30
_UNSAFE_FILENAME_RE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]+')
_FALLBACK_EXT = {
    "text/plain": ".txt", "text/html": ".html", "message/rfc822": ".eml",
    "message/delivery-status": ".txt", "text/rfc822-headers": ".txt", "image/jpeg": ".jpg",
    "image/png": ".png", "image/gif": ".gif", "application/pdf": ".pdf", "text/calendar": ".ics",
}  # fmt: skip


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
    if isinstance(payload, list):  # a multipart payload: its parts are messages
        data = b"".join(sub.as_bytes() for sub in cast(list[Message], payload))
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
    if description := header_text(part, "content-description", hint):
        name = description
    elif ctype == "message/delivery-status":
        name = "delivery-status"
    elif "." in local[-6:]:
        return local  # Outlook names inline images "image001.jpg@01D..."
    else:
        name = "attachment"
    return name if "." in name[-6:] else name + ext


class MimeWalker:
    """Walk the MIME tree once, sorting leaves into body segments and attachments."""

    def __init__(self, hint: str | None) -> None:
        self.hint = hint
        self.segments: list[Segment] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.report_type: str | None = None
        self.inner_message_id: str | None = None

    def walk(self, part: Message, depth: int) -> None:
        if depth > MAX_MIME_DEPTH:
            self.defects.append(f"MIME nesting deeper than {MAX_MIME_DEPTH} levels ignored")
            return
        try:
            fix_8bit_headers(part, self.hint)
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
            child = MimeWalker(self.hint)
            child.walk(sub, depth + 1)
            self.attachments.extend(child.attachments)
            self.defects.extend(child.defects)
            self.inner_message_id = self.inner_message_id or child.inner_message_id
            merged = merge_segments(child.segments)
            # RFC 2046: the last alternative is the richest the sender could offer.
            if merged is not None and merged.html is not None:
                rich = merged.html
            elif merged is not None:
                plain = merged.plain
        if plain is not None or rich is not None:
            self.segments.append(Segment(plain, rich))

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
                Segment(text, None) if ctype == "text/plain" else Segment(None, text)
            )
            return
        if ctype == "text/rfc822-headers" and not self.inner_message_id:
            headers = BytesHeaderParser(policy=compat32).parsebytes(data)
            self.inner_message_id = next(iter(message_ids(headers.get("message-id"))), None)
        self._attach(part, ctype, data, filename, disposition)

    def _message(self, part: Message, ctype: str) -> None:
        data = _message_bytes(part)
        inner = part.get_payload(0) if isinstance(part.get_payload(), list) else None
        inner = cast(Message | None, inner)  # a part of a multipart payload is a message
        name = part.get_filename()
        if inner is not None and ctype in ("message/rfc822", "message/global"):
            fix_8bit_headers(inner, self.hint)
            ids = message_ids(header_text(inner, "message-id"))
            self.inner_message_id = self.inner_message_id or next(iter(ids), None)
            subject = header_text(inner, "subject", self.hint)
            name = name or (f"{subject}.eml" if subject else None)
        self._attach(part, ctype, data, name, (part.get_content_disposition() or "").lower())

    def _attach(
        self, part: Message, ctype: str, data: bytes, filename: str | None, disposition: str
    ) -> None:
        ext = _FALLBACK_EXT.get(ctype, "")
        content_id = next(iter(message_ids(header_text(part, "content-id"))), None)
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
