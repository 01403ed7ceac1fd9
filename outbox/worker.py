"""A worker that starts queues every mail left unsent, without waiting for beat."""

from __future__ import annotations

import logging

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect(dispatch_uid="outbox.requeue_on_worker_start")
def requeue_on_start(**_: object) -> None:
    from .tasks import requeue_mails

    try:
        requeue_mails.delay(grace_seconds=0)
    except Exception:  # the broker went away again; beat re-queues within a minute
        logger.exception("could not queue the outbox re-queue at worker start")
