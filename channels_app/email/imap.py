"""Poll an IMAP mailbox (IMAPS): fetch each waiting mail, store it raw, then mark it.

A mail is flagged ``\\Seen`` (or moved) only after ``inbound_store`` has committed it, and
it is fetched with ``BODY.PEEK[]`` so fetching alone changes nothing on the server: a
crash between fetch and store leaves the mail waiting, and the next poll stores it (the
raw-bytes digest makes a second store of the same mail a no-op).
"""

from __future__ import annotations

import imaplib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from tickets.models import Channel

from ..inbound import enqueue_processing_many, inbound_store

logger = logging.getLogger(__name__)
DEFAULT_BATCH = 200
_UID_RE = re.compile(rb"UID (\d+)")


@dataclass
class PollResult:
    """What one poll did."""

    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def mailbox_config(name: str) -> dict[str, Any]:
    """Return the configured mailbox called ``name`` (SUPPORTDESK_IMAP_MAILBOXES)."""
    for config in settings.SUPPORTDESK_IMAP_MAILBOXES:
        if config.get("name") == name:
            return config
    raise KeyError(f"No IMAP mailbox {name!r} in SUPPORTDESK_IMAP_MAILBOXES.")


def poll_mailbox(
    config: dict[str, Any], *, connect: Callable[[str, int], Any] = imaplib.IMAP4_SSL
) -> PollResult:
    """Store every waiting mail of one mailbox; return counts (errors are kept, not raised
    per mail, so one bad mail does not block the rest)."""
    result = PollResult()
    client = connect(config["host"], int(config.get("port", 993)))
    try:
        client.login(config["username"], config["password"])
        _check(client.select(config.get("folder", "INBOX")), "select the folder")
        move_to = config.get("move_to") or ""
        criterion = "ALL" if move_to else "UNSEEN"
        typ, data = client.uid("SEARCH", None, criterion)
        _check((typ, data), "search the folder")
        uids = (data[0] or b"").split()[: int(config.get("batch", DEFAULT_BATCH))]
        stored: list[int] = []
        try:
            for uid in uids:
                try:
                    _one(client, uid, config, move_to, result, stored)
                except (imaplib.IMAP4.error, OSError) as exc:
                    result.errors.append(f"UID {uid.decode()}: {exc}")
                    logger.warning("IMAP %s UID %s: %s", config["name"], uid, exc)
        finally:
            # Processed in batches once the poll is done (if the poll dies first, beat
            # re-queues the stored records after SUPPORTDESK_REQUEUE_AFTER_SECONDS).
            enqueue_processing_many(stored)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return result


def _one(
    client: Any,
    uid: bytes,
    config: dict[str, Any],
    move_to: str,
    result: PollResult,
    stored: list[int],
) -> None:
    typ, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    _check((typ, data), f"fetch UID {uid.decode()}")
    raw = next((part[1] for part in data if isinstance(part, tuple) and len(part) > 1), None)
    if not raw:
        raise imaplib.IMAP4.error(f"server returned no body for UID {uid.decode()}")
    result.fetched += 1
    record, created = inbound_store(
        channel=Channel.EMAIL, source=f"imap:{config['name']}", raw=raw, enqueue=False
    )
    if created:
        stored.append(record.pk)
    result.stored += created
    result.duplicates += not created
    # Only now, with the raw mail committed, may the server forget about it.
    _check(client.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "flag the mail as seen")
    if move_to and "MOVE" in getattr(client, "capabilities", ()):
        _check(client.uid("MOVE", uid, move_to), f"move the mail to {move_to}")
    elif move_to:
        _check(client.uid("COPY", uid, move_to), f"copy the mail to {move_to}")
        _check(client.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), "flag the mail deleted")
        client.expunge()


def _check(response: tuple[Any, Any], what: str) -> None:
    typ, data = response
    if typ != "OK":
        raise imaplib.IMAP4.error(f"could not {what}: {typ} {data!r}")
