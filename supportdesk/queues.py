"""The Celery queues: one per concern, so each can be given its own workers.

``<main>`` takes ingest (turning stored inbound records into tickets) and anything not
listed below; ``<main>.sla`` the beat's SLA scan and alerts; ``<main>.outbox`` sending
mail; ``<main>.mailbox`` IMAP polls; ``<main>.followups`` SLA clock recomputes;
``<main>.duplicates`` duplicate detection and its notes; ``<main>.housekeeping`` the beat's
periodic upkeep (search words, report catch-up, missed surveys, orphan files). A worker
started without ``-Q``
reads them all, in that order (``queue_order_strategy: priority`` in the broker
transport options): follow-up work waits while a burst of mail is turned into tickets, and
catches up right after (deadlines count from the ticket's start, not from when they were
computed). The SLA deadlines of mail and webhooks are the exception: an intake stores
them in its own transaction (``sla.receivers.recompute_in_intake``), so they never wait
for a stream to end (docs/scaling.md "Queues"). On many hosts, give a concern its own
workers with ``-Q <main>.<concern>`` (docker-compose.yml shows the shape).
"""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

# Queue suffix → the tasks routed there, in the order workers read the queues.
CONCERN_TASKS: dict[str, tuple[str, ...]] = {
    "sla": (
        "sla.scan_deadlines",
        "sla.sync_holidays",
        "workspace.collect_sla_alerts",
        "workspace.rows_tick",
    ),
    "outbox": ("outbox.send_mails", "outbox.requeue_mails"),
    "mailbox": (
        "channels_app.poll_imap_mailbox",
        "mailboxes.poll",
        "mailboxes.poll_due",
        "mailboxes.scan_health",
    ),
    "followups": ("sla.recompute_tickets", "sla.recompute_live", "reports.refresh_facts"),
    "duplicates": ("duplicates.detect_many", "duplicates.announce", "duplicates.propose"),
    # Last: upkeep that can wait minutes without anyone noticing, never ahead of a mail.
    "housekeeping": (
        "search.words_refresh",
        "search.bands",
        "search.pending",
        "reports.catch_up",
        "csat.ask_missed",
        "tickets.remove_orphan_files",
    ),
}
# The beat's only task on the main queue: re-queuing stored inbound records is ingest.
MAIN_QUEUE_BEAT_TASKS = ("channels_app.requeue_stale_inbound",)
# Read only while the main queue is empty (and the concerns before them).
FOLLOWUP_TASKS = CONCERN_TASKS["followups"] + CONCERN_TASKS["duplicates"]


def concern_queue(main: str, concern: str) -> str:
    """Return the name of the queue of ``concern`` that goes with the main queue ``main``."""
    return f"{main}.{concern}"


def followup_queue(main: str) -> str:
    """Return the name of the SLA follow-up queue that goes with the main queue ``main``."""
    return concern_queue(main, "followups")


def queue_names(main: str) -> list[str]:
    """Return every queue of ``main``, in the order a worker reads them."""
    return [main, *(concern_queue(main, concern) for concern in CONCERN_TASKS)]


def celery_queue_settings(main: str) -> dict[str, Any]:
    """Return the Celery settings (lower-case names) for the main queue ``main``."""
    routes = {
        task: {"queue": concern_queue(main, concern)}
        for concern, tasks in CONCERN_TASKS.items()
        for task in tasks
    }
    return {
        "task_default_queue": main,
        "task_queues": [
            Queue(name, Exchange(name), routing_key=name) for name in queue_names(main)
        ],
        "task_routes": routes,
    }
