"""The SUPPORTDESK_IMAP_MAILBOXES variable of earlier releases, read for one more release.

Each mailbox it names that has no row yet becomes a Mailbox row after ``migrate`` (with
its password encrypted, implicit TLS as before, in the default inbox); from then on the
row is what the desk uses and edits in the admin win. A system check warns while the
variable is set.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils.text import slugify

logger = logging.getLogger(__name__)


def settings_mailboxes_import() -> list[str]:
    """Create a Mailbox for each configured mailbox not yet stored; return their names."""
    from tickets.models import Department, DepartmentKind

    from .models import Mailbox, Security

    configs: list[dict[str, Any]] = list(getattr(settings, "SUPPORTDESK_IMAP_MAILBOXES", []) or [])
    if not configs:
        return []
    inbox = (
        Department.objects.filter(is_active=True, kind=DepartmentKind.CUSTOMER_SUPPORT).first()
        or Department.objects.filter(is_active=True).first()
    )
    if inbox is None:
        logger.warning("SUPPORTDESK_IMAP_MAILBOXES: no active department to own the mailboxes")
        return []
    created = []
    for config in configs:
        name = slugify(str(config.get("name") or ""))[:50]
        if not name or not config.get("host") or Mailbox.objects.filter(name=name).exists():
            continue
        mailbox = Mailbox(
            name=name,
            department=inbox,
            host=str(config["host"]),
            port=int(config.get("port", 993)),
            security=Security.TLS,
            folder=str(config.get("folder") or "INBOX"),
            move_to=str(config.get("move_to") or ""),
            username=str(config.get("username") or ""),
            poll_every_seconds=settings.SUPPORTDESK_IMAP_POLL_SECONDS,
        )
        mailbox.set_password(str(config.get("password") or ""))
        mailbox.save()
        created.append(name)
        logger.warning(
            "mailbox %s copied from SUPPORTDESK_IMAP_MAILBOXES to the admin; remove it from "
            "the variable (read for one more release)",
            name,
        )
    return created


def import_settings_mailboxes_after_migrate(**kwargs: Any) -> None:
    try:
        settings_mailboxes_import()
    except DatabaseError:  # a partial migrate (e.g. to an older state): nothing to do yet
        logger.debug("mailboxes table not ready", exc_info=True)
