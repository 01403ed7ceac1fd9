"""Real ``celery beat`` processes with a short lease, for the failover tests."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from tests.processes import Process, service_env

SENT = re.compile(r"beat: sending (\S+) for period (\d+)")


def beat_env(**extra: str) -> dict[str, str]:
    """Settings for beats of one test: their own Redis keys and queue, a 3 s lease, and
    an SLA scan every 2 s (production: 30 s and 60 s; bench/beat_failover.py measures those)."""
    prefix = f"beat-test-{uuid.uuid4().hex[:8]}"
    return {
        "SUPPORTDESK_BEAT_KEY_PREFIX": prefix,
        "SUPPORTDESK_BEAT_LEASE_SECONDS": "3",
        "SLA_SCAN_EVERY_SECONDS": "2",
        "SUPPORTDESK_CELERY_QUEUE": f"{prefix}-queue",
        **extra,
    }


def start_beat(env: dict[str, str]) -> Process:
    cmd = [sys.executable, "-m", "celery", "-A", "supportdesk", "beat", "--loglevel", "INFO"]
    return Process(cmd, service_env(**env))


def sent(beat: Process, entry: str) -> list[int]:
    """Return the periods for which ``beat`` sent ``entry``, in order."""
    return [
        int(m.group(2)) for line in list(beat.lines) if (m := SENT.search(line)) and m[1] == entry
    ]


@contextmanager
def beats(env: dict[str, str], count: int = 2) -> Iterator[list[Process]]:
    """Run ``count`` beats; stop them and remove their Redis keys and queued tasks after."""
    started = [start_beat(env) for _ in range(count)]
    try:
        yield started
    finally:
        for beat in started:
            beat.stop(sig=9)
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        prefix = env["SUPPORTDESK_BEAT_KEY_PREFIX"]
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
