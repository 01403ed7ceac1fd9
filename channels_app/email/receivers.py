"""ESP webhooks (through django-anymail): store the raw mail before answering the ESP.

anymail authenticates the request (basic-auth ``WEBHOOK_SECRET`` and, where the ESP signs,
its signature) and sends ``inbound`` for each message; the receiver runs inside the
request, so the webhook returns 2xx only after ``inbound_store`` has committed the raw
bytes, and an error makes the ESP retry. Processing is queued per collection window, not
per mail (``windows.py``).
"""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from anymail.signals import inbound
from django.conf import settings
from django.dispatch import receiver

from tickets.models import Channel

from ..inbound import inbound_store
from ..windows import enqueue_in_window
from .headers import message_ids
from .shrink import shrink_mime

DELIVERY_KEY_DOMAIN = "delivery.supportdesk.invalid"
# ESPs whose event id is made per request (Mailgun's signing token), not per message.
ESP_IDS_PER_REQUEST = frozenset({"mailgun"})
# Where the header block is looked for; a mail whose headers run past it is read whole.
HEADER_SCAN_BYTES = 1 << 20


@receiver(inbound, dispatch_uid="supportdesk-email-inbound")
def store_inbound_email(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Store the webhook's message as raw MIME bytes (processing is queued after commit)."""
    message = event.message
    if message is None:
        return
    source = esp_name.lower().replace(" ", "_")
    # ESPs that post the raw mail never get here (``webhooks.inbound_view`` stores it).
    if not message_ids(str(message.get("Message-ID") or "")):
        # Parsed JSON without a Message-ID (Postmark's default): each ESP retry builds
        # new MIME (new boundaries), so the id the processor would derive from the bytes
        # changes too. A key that stays the same makes a retry the same message.
        del message["Message-ID"]
        message["Message-ID"] = f"<{delivery_key(message, source, event.event_id)}>"
    store_raw_email(raw_mime(message), source)


def store_raw_email(raw: bytes, source: str, *, queue: bool = True) -> int | None:
    """Store a webhook's raw mail; over the limit, without the attachments that do not
    fit (an error would make the ESP retry the same mail until it drops it). Return the
    new record's id (None: stored before). ``queue=False``: the caller adds it to its
    collection window (``windows.enqueue_in_window``) itself, after answering."""
    limit = settings.SUPPORTDESK_WEBHOOK_MAX_BYTES
    try:
        raw = shrink_mime(raw, limit).raw
    except Exception:  # MIME the parser cannot walk (nested thousands deep): keep the start
        raw = raw[:limit]
    record, created = inbound_store(
        channel=Channel.EMAIL,
        source=source,
        raw=raw,
        external_id=next(iter(message_ids(header_message_id(_header_block(raw)))), None),
        enqueue=False,
    )
    if not created:
        return None
    if queue:  # processed with the other deliveries of its window (windows.py)
        enqueue_in_window(record.pk)
    return record.pk


def _header_block(raw: bytes) -> bytes:
    """The mail's header lines: the parser would read (and decode) the whole body too."""
    head = raw[:HEADER_SCAN_BYTES]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    return raw[: min(ends) + 2] if ends else raw


# A line the stdlib's feed parser takes as a header or its continuation (feedparser.headerRE).
_HEADER_LINE_RE = re.compile(rb"(From |[\041-\071\073-\176]*:|[\t ])")


def header_message_id(block: bytes) -> str:
    """The first Message-ID header's value in a mail's header lines, as compat32's parser
    reads it ("" when there is none), without building a Message: the parser's machinery
    was a tenth of a webhook delivery's CPU. Lines are walked as the feed parser walks
    them (a line that is neither a header nor a continuation ends the headers); a block
    with 8-bit bytes or bare CRs goes to the parser itself."""
    if not block.isascii() or block.replace(b"\r\n", b"").find(b"\r") >= 0:
        headers = BytesHeaderParser(policy=compat32).parsebytes(block)
        return str(headers.get("Message-ID") or "")
    found: list[bytes] | None = None
    for index, line in enumerate(block.splitlines(keepends=True)):
        bare = line.rstrip(b"\r\n")
        if not bare or not _HEADER_LINE_RE.match(bare):
            break  # the blank line, or a line the parser takes as the start of the body
        if bare[:1] in (b" ", b"\t"):
            if found is not None:
                found.append(line)
            continue
        if found is not None:
            break  # the next line of the header block: the value is complete
        if index and bare.startswith(b"From "):
            continue  # a misplaced envelope line: the parser skips it
        name, _, value = line.partition(b":")
        if name.lower() == b"message-id":
            found = [value.lstrip(b" \t")]
    if found is None:
        return ""
    return b"".join(found).decode("ascii").rstrip("\r\n")


def delivery_key(message: Any, source: str, esp_id: str | None) -> str:
    """Return a Message-ID for a webhook mail that has none: the ESP's own id for the
    message, or a hash of the mail's normalised fields (the same on every retry)."""
    if esp_id and source not in ESP_IDS_PER_REQUEST:
        return f"{source}.{_id_safe(str(esp_id))}@{DELIVERY_KEY_DOMAIN}"
    fields = [
        str(message.from_email or ""),
        " ".join(sorted(str(a) for a in message.to)),
        " ".join(sorted(str(a) for a in message.cc)),
        str(message.subject or ""),
        str(message.get("Date") or ""),
        _normalised(message.text),
        _normalised(message.html),
        *sorted(hashlib.sha256(a.get_content_bytes()).hexdigest() for a in message.attachments),
    ]
    digest = hashlib.sha256("\x1f".join(fields).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{source}.{digest[:40]}@{DELIVERY_KEY_DOMAIN}"


def _normalised(text: str | None) -> str:
    return " ".join((text or "").split())


def _id_safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", value)[:200]


def raw_mime(message: Any) -> bytes:
    """Return the MIME bytes of an anymail inbound message, as close to the wire as we can."""
    try:
        return message.as_bytes(policy=compat32)
    except Exception:  # a header the generator cannot fold: fall back to the text form
        return message.as_string(policy=compat32).encode("utf-8", "surrogateescape")
