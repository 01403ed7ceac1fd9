"""Make a mail that is over the size limit fit, keeping what can be kept.

Pure module (standard library only). The largest attachments are replaced, one by one,
by a short text part that names them, until the mail fits; if the text alone is still
too large it is cut. A header records what was left out, so the ticket says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from io import BytesIO

SHRUNK_HEADER = "X-SupportDesk-Shrunk"
# Room kept for the notes and the header that replace what is left out.
_SLACK = 16 * 1024


@dataclass(frozen=True)
class Shrunk:
    raw: bytes
    removed: list[tuple[str, int]]  # (filename, encoded bytes) of each part left out
    cut: bool  # the remaining text had to be cut too


def shrink_mime(raw: bytes, limit: int) -> Shrunk:
    """Return ``raw`` unchanged if it fits in ``limit`` bytes, else a version that does."""
    if len(raw) <= limit:
        return Shrunk(raw, [], False)
    msg = BytesParser(policy=compat32).parsebytes(raw)
    leaves = sorted(
        (part for part in msg.walk() if not part.is_multipart() and _is_attachment(part)),
        key=_encoded_size,
        reverse=True,
    )
    size, removed = len(raw), []
    for part in leaves:
        if size + _SLACK <= limit:
            break
        name, encoded = part.get_filename() or part.get_content_type(), _encoded_size(part)
        _replace_with_note(part, name, encoded, limit)
        removed.append((name, encoded))
        size -= encoded
    note = "; ".join(f"{name} ({encoded} bytes)" for name, encoded in removed) or "none"
    msg[SHRUNK_HEADER] = f"over {limit} bytes; attachments left out: {note}"[:900]
    out = _as_bytes(msg)
    cut = len(out) > limit
    if cut:
        marker = f"\n\n[Cut: this mail was over the {limit}-byte limit.]\n".encode()
        out = out[: limit - len(marker)] + marker
    return Shrunk(out, removed, cut)


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if part.get_filename() or disposition == "attachment":
        return True
    return part.get_content_type() not in ("text/plain", "text/html")


def _encoded_size(part: Message) -> int:
    payload = part.get_payload()
    return len(payload) if isinstance(payload, str | bytes) else 0


def _replace_with_note(part: Message, name: str, encoded: int, limit: int) -> None:
    for header in ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition"):
        del part[header]
    part["Content-Type"] = 'text/plain; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "8bit"
    part["Content-Disposition"] = "inline"
    text = (
        f"[Attachment not stored: {name} ({encoded} bytes as sent). The mail was over the "
        f"{limit // (1024 * 1024)} MB limit for mail received by webhook; ask the sender "
        "for the file another way.]\n"
    )
    part.set_payload(text.encode("utf-8").decode("ascii", "surrogateescape"))


def _as_bytes(msg: Message) -> bytes:
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=compat32).flatten(msg)
    return out.getvalue()
