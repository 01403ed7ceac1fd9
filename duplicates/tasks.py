"""Celery tasks: thin wrappers that take ticket ids and call a duplicates service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from .services import detect_duplicates, flags_announce

log = logging.getLogger(__name__)


@shared_task(
    name="duplicates.detect_many",
    acks_late=True,  # idempotent: a re-delivery finds the same flags and changes nothing
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=180,
)
def detect_many(ticket_ids: list[int]) -> int:
    """Detect duplicates of several tickets, oldest first (what one commit opened or
    heard from); return how many ran."""
    for ticket_id in sorted(ticket_ids):
        try:
            detect_duplicates(ticket_id)
        except OperationalError:
            raise  # transient: the retry runs them all again (idempotent)
        except Exception:  # one ticket's bug must not leave the others unchecked
            log.exception("duplicate detection of ticket %s failed", ticket_id)
    return len(ticket_ids)


@shared_task(
    name="duplicates.announce",
    acks_late=True,  # idempotent: each flag is announced once
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=30,
    time_limit=60,
)
def announce(ticket_id: int) -> dict[str, object]:
    """Post the note about a ticket's new duplicate flags and mail the assignees."""
    return {"announced": flags_announce(ticket_id=ticket_id)}
