"""Decide which attachments of a mail are stored, by the one attachment policy of every
channel (``tickets.attachment_policy``).

A file left out never drops the message: the caller keeps a note of what was left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tickets.attachment_policy import HEAD_BYTES, attachment_refusal
from tickets.services import AttachmentIn

from .parsing import Attachment


def screen_attachments(
    attachments: Iterable[Attachment],
) -> tuple[list[AttachmentIn], list[dict[str, Any]]]:
    """Return (files to store, notes about the files left out and why)."""
    kept: list[AttachmentIn] = []
    dropped: list[dict[str, Any]] = []
    for item in attachments:
        reason = attachment_refusal(
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            head=item.payload[:HEAD_BYTES],
        )
        if reason:
            dropped.append(
                {
                    "filename": item.filename,
                    "content_type": item.content_type,
                    "size": item.size,
                    "sha256": item.sha256,
                    "reason": reason,
                }
            )
            continue
        kept.append(
            AttachmentIn(
                filename=item.filename,
                content=item.payload,
                content_type=item.content_type,
                content_id=(item.content_id or "")[:255],
                is_inline=item.is_inline,
            )
        )
    return kept, dropped
