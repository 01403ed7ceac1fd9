from __future__ import annotations

from celery import shared_task

from .services import surveys_ask_missed


@shared_task(name="csat.ask_missed", soft_time_limit=240, time_limit=300, expires=240)
def ask_missed() -> int:
    """Ask about recent solves that have no survey yet (beat)."""
    return surveys_ask_missed()
