"""Celery tasks: thin wrappers that take ticket ids and call a duplicates service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .problems import proposals_for
from .services import duplicates_detect_many, flags_announce_many


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
    """Detect duplicates of several tickets; return how many ran."""
    return duplicates_detect_many(ticket_ids)


@shared_task(
    name="duplicates.announce",
    acks_late=True,  # idempotent: each flag is announced once
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=180,
)
def announce(ticket_ids: list[int]) -> int:
    """Post the note about each ticket's new duplicate flags and mail the assignees, all
    in one transaction; return how many flags were announced."""
    return sum(len(flags) for flags in flags_announce_many(ticket_ids=ticket_ids).values())


@shared_task(
    name="duplicates.propose",
    acks_late=True,  # idempotent: one live proposal per code, its count refreshed
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=180,
)
def propose(ticket_ids: list[int]) -> int:
    """Count the customers naming each ticket's error codes and services; file or refresh
    the problem proposals due; return how many were filed or refreshed."""
    return sum(len(proposals_for(ticket_id)) for ticket_id in ticket_ids)
