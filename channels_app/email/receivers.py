"""ESP webhooks (through django-anymail): store the raw mail before answering the ESP.

anymail authenticates the request (basic-auth ``WEBHOOK_SECRET`` and, where the ESP signs,
its signature) and sends ``inbound`` for each message; the receiver runs inside the
request, so the webhook returns 2xx only after ``inbound_store`` has committed the raw
bytes, and an error makes the ESP retry.
"""

from __future__ import annotations

from email.policy import compat32
from typing import Any

from anymail.signals import inbound
from django.conf import settings
from django.dispatch import receiver

from tickets.models import Channel

from ..inbound import inbound_store
from .shrink import shrink_mime


@receiver(inbound, dispatch_uid="supportdesk-email-inbound")
def store_inbound_email(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Store the webhook's message as raw MIME bytes (processing is queued after commit)."""
    message = event.message
    if message is None:
        return
    # Over the limit: stored without the attachments that do not fit, and answered 200
    # (an error would make the ESP retry the same mail until it drops it).
    raw = shrink_mime(raw_mime(message), settings.SUPPORTDESK_WEBHOOK_MAX_BYTES).raw
    inbound_store(
        channel=Channel.EMAIL,
        source=esp_name.lower().replace(" ", "_"),
        raw=raw,
        external_id=(str(message.get("Message-ID") or "").strip().strip("<>") or None),
    )


def raw_mime(message: Any) -> bytes:
    """Return the MIME bytes of an anymail inbound message, as close to the wire as we can."""
    try:
        return message.as_bytes(policy=compat32)
    except Exception:  # a header the generator cannot fold: fall back to the text form
        return message.as_string(policy=compat32).encode("utf-8", "surrogateescape")
