"""What makes two copies of a mail the same mail, whatever bytes the server sends.

Pure module (standard library only). A mail with a Message-ID is that Message-ID. A mail
without one is its content: the headers its sender wrote (not the ones servers add on the
way, like Received or X-*) and its body with line endings and trailing blanks normalised,
so the copy a server hands out again after renumbering a folder (UIDVALIDITY) — with
CRLF for LF, a header added, a blank line dropped — is recognised as the same.
"""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32

SENDER_HEADERS = ("from", "sender", "to", "cc", "subject", "date", "in-reply-to", "references")
_SPACE = re.compile(r"\s+")


def message_id_key(message_id: str) -> str:
    """Return the key of a mail by its Message-ID ("" when it has none)."""
    value = message_id.strip()
    if not value:
        return ""
    return hashlib.sha256(b"mid:" + value.encode("utf-8", "replace")).hexdigest()


def content_key(raw: bytes) -> str:
    """Return the key of a mail by its content (for mail without a Message-ID)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    parts = []
    for name in SENDER_HEADERS:
        for value in headers.get_all(name) or []:
            parts.append(f"{name}:{_SPACE.sub(' ', str(value)).strip()}")
    body = _body(raw)
    digest = hashlib.sha256(b"content:")
    digest.update("\n".join(parts).encode("utf-8", "replace"))
    digest.update(b"\n\n")
    digest.update(body)
    return digest.hexdigest()


def message_id_of(raw: bytes) -> str:
    """Return the Message-ID header of a raw mail ("" without one); reads the header only."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[: end + 2]
    value = BytesHeaderParser(policy=compat32).parsebytes(head).get("message-id")
    return _SPACE.sub(" ", str(value)).strip() if value else ""


def key_of(raw: bytes) -> str:
    """Return the key of a raw mail: its Message-ID's, else its content's."""
    return message_id_key(message_id_of(raw)) or content_key(raw)


def _body(raw: bytes) -> bytes:
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    _, sep, body = text.partition(b"\n\n")
    if not sep:
        return b""
    lines = [line.rstrip() for line in body.split(b"\n")]
    while lines and not lines[-1]:
        lines.pop()
    return b"\n".join(lines)
