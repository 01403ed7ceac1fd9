"""The Celery queues: the main one, and one for follow-up work read only when it is empty.

Follow-up work (SLA clocks, duplicate detection and its notes) waits while a burst of mail is turned
into tickets, and catches up right after: deadlines count from the ticket's start, not
from when they were computed. Workers consume both queues (no -Q needed), main one first
(``queue_order_strategy: priority`` in the broker transport options).
"""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

FOLLOWUP_TASKS = (
    "sla.recompute_tickets",
    "sla.recompute_live",
    "duplicates.detect_many",
    "duplicates.announce",
    "reports.refresh_facts",
)


def followup_queue(main: str) -> str:
    """Return the name of the follow-up queue that goes with the main queue ``main``."""
    return f"{main}.followups"


def celery_queue_settings(main: str) -> dict[str, Any]:
    """Return the Celery settings (lower-case names) for the main queue ``main``."""
    names = (main, followup_queue(main))
    return {
        "task_default_queue": main,
        "task_queues": [Queue(name, Exchange(name), routing_key=name) for name in names],
        "task_routes": {task: {"queue": names[1]} for task in FOLLOWUP_TASKS},
    }
