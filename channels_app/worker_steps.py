"""A worker boot step: each time a worker connects to the broker (it started, or the
broker came back after a restart), it queues the re-queue of every waiting record.

Queue entries are lost with a broker that restarts without persistence, and a task held
by a worker that was killed stays unacknowledged for the broker's visibility timeout (an
hour on Redis). Re-queueing at connect time recovers both at once instead of waiting for
beat; processing is idempotent, so an entry that was not lost costs one lookup.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)


class RequeueOnConnect(bootsteps.StartStopStep):
    """Consumer step (started again after every reconnection)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        from .tasks import requeue_stale_inbound

        try:
            requeue_stale_inbound.apply_async(kwargs={"older_than_seconds": 0})
        except Exception:  # the broker went away again: the next connect or beat does it
            logger.exception("could not queue the re-queue of waiting inbound records")
