"""Periodic housekeeping of the core domain (thin: each calls one service)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from .orphans import orphan_files_remove


@shared_task(name="tickets.remove_orphan_files", soft_time_limit=600, time_limit=660)
def remove_orphan_files() -> int:
    """Delete stored files no attachment refers to, older than the grace age."""
    return orphan_files_remove(grace=timedelta(seconds=settings.SUPPORTDESK_ORPHAN_GRACE_SECONDS))
