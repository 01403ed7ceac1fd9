"""Reports' tasks: refresh the facts of changed tickets (after each commit that changed
them), and the beat's catch-up (lost announcements, breaches raised by the SLA scan, the
backlog's daily snapshot)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import OperationalError

from .facts import (
    _today,
    backlog_snapshot,
    days_rebuild,
    facts_refresh,
    open_recount,
    recently_changed,
)


@shared_task(
    name="reports.refresh_facts",
    acks_late=True,  # idempotent: a second run finds new − old = 0
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=180,
)
def refresh_facts(ticket_ids: list[int]) -> int:
    """Bring these tickets' facts and the daily figures up to date."""
    return facts_refresh(ticket_ids)


@shared_task(name="reports.catch_up", soft_time_limit=540, time_limit=600, expires=540)
def catch_up() -> dict[str, int]:
    """Refresh recently changed tickets, rebuild yesterday's and today's figures and what
    is open now from the facts, and snapshot today's backlog (beat)."""
    refreshed = facts_refresh(recently_changed(minutes=30))
    today = _today()
    rows = days_rebuild(today - timedelta(days=1), today)
    return {
        "refreshed": refreshed,
        "rows": rows,
        "open": open_recount(),
        "backlog": backlog_snapshot(today),
    }
