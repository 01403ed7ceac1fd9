"""Celery tasks of the workspace: thin wrappers around its services."""

from __future__ import annotations

from celery import shared_task

from .notify import sla_alerts_collect
from .rows import rows_missing_fill, rows_tick
from .search_indexes import build_indexes

# Each run builds rows this long, then queues the rest: a restart loses one batch at most.
BACKFILL_SECONDS = 30


@shared_task(name="workspace.collect_sla_alerts", soft_time_limit=50, time_limit=55, expires=55)
def collect_sla_alerts() -> int:
    """Notify assignees of the SLA alerts raised since the last run (beat, every minute)."""
    return sla_alerts_collect()


@shared_task(name="workspace.rows_tick", soft_time_limit=50, time_limit=55, expires=55)
def rows_tick_task() -> dict[str, int]:
    """Move rows into "At risk" as their moment passes and follow duplicate flags filed
    in bulk (beat, every minute)."""
    return rows_tick()


@shared_task(name="workspace.rows_backfill", soft_time_limit=120, time_limit=150)
def rows_backfill_task(after: int = 0) -> int:
    """Build the list rows of tickets that have none (a desk upgraded to the workspace),
    for ``BACKFILL_SECONDS``, then queue the rest; return how many were built."""
    written, resume = rows_missing_fill(after, seconds=BACKFILL_SECONDS)
    if resume is not None:
        rows_backfill_task.delay(resume)
    return written


@shared_task(name="workspace.search_indexes", soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60)
def search_indexes_task() -> list[str]:
    """Build the missing full-text search indexes concurrently (after an upgrade)."""
    return build_indexes(concurrently=True)
