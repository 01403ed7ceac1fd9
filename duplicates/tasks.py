"""Celery tasks: thin wrappers that take a ticket id and call a duplicates service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .services import detect_duplicates, flags_announce


@shared_task(
    name="duplicates.detect",
    acks_late=True,  # idempotent: a re-delivery finds the same flags and changes nothing
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=30,
    time_limit=60,
)
def detect(ticket_id: int) -> dict[str, object]:
    """Detect duplicates of one ticket."""
    result = detect_duplicates(ticket_id)
    return {"flagged": result.flagged, "merged_into": result.merged_into}


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
