"""Build raw test mails and run them through the email pipeline (store → process)."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from pathlib import Path

from channels_app.inbound import inbound_process, inbound_store
from channels_app.models import InboundRecord
from tickets.models import Channel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
SUPPORT = "support@supportdesk.localhost"
TECH = "tech@supportdesk.localhost"
ABUSE = "abuse@supportdesk.localhost"


def make_mail(
    *,
    subject: str = "Domain transfer stuck",
    sender: str = "Carol <carol@example.org>",
    to: str = SUPPORT,
    body: str = "My transfer has been pending for three days.",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
    html: str | None = None,
) -> bytes:
    """Return the bytes of a plain (or multipart) mail with the given parts."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Tue, 05 Mar 2024 10:15:00 +0100"
    msg["Message-ID"] = f"<{message_id or uuid.uuid4().hex + '@example.org'}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content, ctype in attachments:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def deliver(raw: bytes, source: str = "test") -> InboundRecord:
    """Store ``raw`` like an entry point does and process it like the worker does."""
    record, _ = inbound_store(channel=Channel.EMAIL, source=source, raw=raw)
    return inbound_process(record.pk)
