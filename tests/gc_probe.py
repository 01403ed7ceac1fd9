"""A task the gc-freeze test runs in a real worker (``celery worker --include tests.gc_probe``)."""

from __future__ import annotations

import gc
import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="tests.gc_probe.report_frozen")
def report_frozen() -> None:
    logger.warning("frozen objects in the pool process: %d", gc.get_freeze_count())
