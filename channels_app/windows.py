"""Webhook mail is processed in batches: a short collection window, then one task for all.

A webhook answers the ESP as soon as its raw mail is committed (``receivers.py``); after
that commit it only adds the record to the current window. Time is cut into windows of
``SUPPORTDESK_WEBHOOK_WINDOW_SECONDS``. With Redis (production), each window is a Redis
list: a delivery appends its record id (one RPUSH), and the delivery that opened the
list (length 1) queues one ``process_webhook_window`` task for the window's end, which
takes the list (LRANGE + DEL, atomic) and queues exactly those records in batches of
``SUPPORTDESK_INBOUND_BATCH`` (``process_inbound_records``: one transaction and bulk
lookups per batch, retried on transient errors). So a burst of 200 mails a second costs a
few tasks a second, not 200, and a record is queued once however far the worker lags.

Without a shared cache (the embedded setup: per-process memory), the window's task takes
the webhook records of the last ``SUPPORTDESK_REQUEUE_AFTER_SECONDS`` still waiting on
their first attempt (older ones are the sweep's); a lagging worker may get a record
queued more than once then, which processing (idempotent, one lock per record) absorbs.

Nothing is lost if a step fails: a cache that does not answer queues the record alone,
and a window whose task never ran leaves its records to the beat sweep that re-queues
every record waiting more than ``SUPPORTDESK_REQUEUE_AFTER_SECONDS``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from tickets.models import Channel

from .inbound import _chunks, _send, _send_many
from .models import InboundRecord, InboundStatus

logger = logging.getLogger(__name__)
WINDOW_KEY = "channels:webhook-window"
# The window's task runs this long after the window's end (clocks of web and worker).
MARGIN_SECONDS = 0.02
LIST_TTL_SECONDS = 3600  # a window list whose task never ran expires (the sweep has them)


def webhook_sources() -> tuple[str, ...]:
    """The ``source`` of records stored by ESP webhooks (receivers.py: the ESP's name)."""
    from supportdesk.webhooks import INBOUND_ESPS

    return INBOUND_ESPS


def enqueue_in_window(record_id: int) -> None:
    """Queue a webhook record's processing in the current window, after commit."""
    transaction.on_commit(lambda: _open_window(record_id))


def _redis() -> Any | None:
    """The cache's Redis client when the cache is django-redis, else None."""
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _open_window(record_id: int) -> None:
    seconds = settings.SUPPORTDESK_WEBHOOK_WINDOW_SECONDS
    if seconds <= 0:
        _send(record_id)
        return
    now = time.time()
    window = int(now // seconds)
    key = cache.make_key(f"{WINDOW_KEY}:{seconds}:{window}")
    try:
        client = _redis()
        if client is not None:
            # No MULTI: one round trip either way, and a take (LRANGE + DEL) run between
            # the two leaves EXPIRE a missing key, no harm; two commands fewer a delivery.
            pipe = client.pipeline(transaction=False)
            pipe.rpush(key, record_id)
            pipe.expire(key, LIST_TTL_SECONDS)
            first = pipe.execute()[0] == 1
        else:
            first = cache.add(key, 1, timeout=60)
            key = ""  # no list: the task looks in the database
    except Exception:  # the cache does not answer: this record goes on its own
        logger.warning("webhook window: cache unavailable, record %s queued alone", record_id)
        _send(record_id)
        return
    if first:
        _queue_window(key, countdown=(window + 1) * seconds - now + MARGIN_SECONDS)


def _queue_window(key: str, *, countdown: float) -> None:
    from .tasks import process_webhook_window  # the task module imports this one

    try:
        process_webhook_window.apply_async((key,), countdown=countdown)
    except Exception:  # broker down: stored, the sweep re-queues them
        logger.exception("could not queue the webhook window; beat will re-queue")


def inbound_window_take(key: str) -> int:
    """Queue the records of the window ``key`` (its Redis list; "" without Redis: the
    recent webhook records waiting on their first attempt) in batches; return how many."""
    if key:
        client = _redis()
        assert client is not None  # a window has a key only on Redis
        pipe = client.pipeline()  # MULTI: no id pushed between the read and the delete
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
        ids = sorted({int(i) for i in pipe.execute()[0]})
    else:
        age = timedelta(seconds=settings.SUPPORTDESK_REQUEUE_AFTER_SECONDS)
        ids = list(
            InboundRecord.objects.filter(
                status=InboundStatus.RECEIVED,
                received_at__gte=timezone.now() - age,
                channel=Channel.EMAIL,
                source__in=webhook_sources(),
                attempts=0,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    if ids:
        _send_many(_chunks(ids))
    return len(ids)
