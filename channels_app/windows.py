"""Webhook mail is processed in batches: a short collection window, then one task for all.

A webhook answers the ESP as soon as its raw mail is committed (``receivers.py``); after
that commit it only makes sure its window has a task. Time is cut into windows of
``SUPPORTDESK_WEBHOOK_WINDOW_SECONDS``; the first delivery of a window (one atomic cache
``add`` of the window's key) queues one ``process_webhook_window`` task for the window's
end, the others queue nothing. At the window's end the task takes every webhook record
still waiting on its first attempt (all committed by then) and queues them in batches of
``SUPPORTDESK_INBOUND_BATCH`` (``process_inbound_records``: one transaction and bulk
lookups per batch, retried on transient errors). So a burst of 200 mails a second costs
a few tasks a second, not 200.

The windows are numbered by the clock, so nothing has to be cleared and a cache that is
not shared (the embedded setup's per-process memory) only means one task per window per
process. Nothing is lost if a step fails: a cache that does not answer queues the record
alone, and a window task that never runs leaves its records to the next window or to the
beat sweep that re-queues every record waiting more than
``SUPPORTDESK_REQUEUE_AFTER_SECONDS``. A record taken by two windows is processed once:
processing is idempotent and locks each record.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from tickets.models import Channel

from .inbound import _chunks, _send, _send_many
from .models import InboundRecord, InboundStatus

logger = logging.getLogger(__name__)
WINDOW_KEY = "channels:webhook-window"
TAKE_AT_MOST = 2000  # records per window task; a bigger backlog opens the next at once
# Webhook records younger than this are the windows' (older ones are the sweep's).
LOOK_BACK = timedelta(minutes=10)
# The window's task runs this long after the window's end (clocks of web and worker).
MARGIN_SECONDS = 0.02


def webhook_sources() -> tuple[str, ...]:
    """The ``source`` of records stored by ESP webhooks (receivers.py: the ESP's name)."""
    from supportdesk.webhooks import INBOUND_ESPS

    return INBOUND_ESPS


def enqueue_in_window(record_id: int) -> None:
    """Queue a webhook record's processing in the current window, after commit."""
    transaction.on_commit(lambda: _open_window(record_id))


def _open_window(record_id: int) -> None:
    seconds = settings.SUPPORTDESK_WEBHOOK_WINDOW_SECONDS
    if seconds <= 0:
        _send(record_id)
        return
    now = time.time()
    window = int(now // seconds)
    try:
        first = cache.add(f"{WINDOW_KEY}:{seconds}:{window}", 1, timeout=60)
    except Exception:  # the cache does not answer: this record goes on its own
        logger.warning("webhook window: cache unavailable, record %s queued alone", record_id)
        _send(record_id)
        return
    if first:
        _queue_window(countdown=(window + 1) * seconds - now + MARGIN_SECONDS)


def _queue_window(*, countdown: float) -> None:
    from .tasks import process_webhook_window  # the task module imports this one

    try:
        process_webhook_window.apply_async(countdown=countdown)
    except Exception:  # broker down: stored, the sweep re-queues it
        logger.exception("could not queue the webhook window; beat will re-queue")


def inbound_window_take() -> int:
    """Queue the webhook records waiting on their first attempt, in batches; return how
    many (run at a window's end)."""
    ids = list(
        InboundRecord.objects.filter(
            status=InboundStatus.RECEIVED,
            received_at__gte=timezone.now() - LOOK_BACK,
            channel=Channel.EMAIL,
            source__in=webhook_sources(),
            attempts=0,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:TAKE_AT_MOST]
    )
    if ids:
        _send_many(_chunks(ids))
    if len(ids) == TAKE_AT_MOST:  # a backlog: the rest in the next window, now
        _queue_window(countdown=0)
    return len(ids)
