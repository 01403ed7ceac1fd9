"""Decide which attachments of a mail are stored: size limit and blocked file types.

A file left out never drops the message: the caller keeps a note of what was left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from tickets.services import AttachmentIn

from .parsing import Attachment

# Types that run when opened; the filename check catches them under any declared type.
BLOCKED_CONTENT_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-sh",
        "application/hta",
        "application/x-ms-shortcut",
    }
)


def screen_attachments(
    attachments: Iterable[Attachment],
) -> tuple[list[AttachmentIn], list[dict[str, Any]]]:
    """Return (files to store, notes about the files left out and why)."""
    limit = settings.SUPPORTDESK_EMAIL_MAX_ATTACHMENT_BYTES
    blocked_ext = tuple(ext.lower() for ext in settings.SUPPORTDESK_EMAIL_BLOCKED_EXTENSIONS)
    kept: list[AttachmentIn] = []
    dropped: list[dict[str, Any]] = []
    for item in attachments:
        reason = None
        if item.size > limit:
            reason = f"larger than the {limit // (1024 * 1024)} MB limit"
        elif item.content_type.lower() in BLOCKED_CONTENT_TYPES or (
            item.filename.lower().endswith(blocked_ext)
        ):
            reason = "executable file type is not accepted"
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
