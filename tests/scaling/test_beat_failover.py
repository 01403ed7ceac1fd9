"""Several beats, one scheduler: killing it hands scheduling to another, and no periodic
task is sent twice in one period (real beat processes on the real Redis)."""

from __future__ import annotations

import pytest
import redis
from celery.beat import ScheduleEntry
from django.conf import settings

from supportdesk.beat import LeasedScheduler
from supportdesk.celery import app as celery_app
from tests.processes import wait_until
from tests.redis_server import RedisServer

from .beats import beat_env, beats, sent, start_beat

pytestmark = [pytest.mark.postgres, pytest.mark.worker]


def test_kill_9_of_the_scheduling_beat_hands_over_without_a_period_twice():
    env = beat_env()
    with beats(env) as (first, second):
        leader = wait_until(
            lambda: next((b for b in (first, second) if len(sent(b, "sla-scan")) >= 2), None),
            60,
            "one beat to send the SLA scan twice",
        )
        standby = second if leader is first else first
        assert sent(standby, "sla-scan") == []  # it waits for the lease
        assert any("Acquired lock" in line for line in leader.lines)

        leader.stop(sig=9)  # no goodbye: its lease has to run out
        before = sent(leader, "sla-scan")
        wait_until(
            lambda: len(sent(standby, "sla-scan")) >= 3,
            60,
            "the other beat to take over and keep the SLA scan going",
            standby,
        )
        after = sent(standby, "sla-scan")
        periods = before + after
        assert len(periods) == len(set(periods)), periods  # never twice in one period
        assert min(after) > max(before)
        assert after == sorted(after)
        assert any("Acquired lock" in line for line in standby.lines)


def test_a_period_claimed_by_one_beat_is_not_sent_by_another(monkeypatch):
    """A beat that stalled past its lease and resumes mid-tick finds the period taken."""
    env = beat_env()
    entry = ScheduleEntry(name="sla-scan", task="sla.scan_deadlines", schedule=3600, app=celery_app)
    one, other = (LeasedScheduler(celery_app, lazy=True) for _ in range(2))
    prefix = env["SUPPORTDESK_BEAT_KEY_PREFIX"]
    monkeypatch.setattr(celery_app.redbeat_conf, "key_prefix", prefix)
    try:
        period = one._claim(entry)
        assert period is not None
        assert other._claim(entry) is None
        assert one._claim(entry) is None  # nor by the same beat twice
    finally:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_beat_keeps_scheduling_after_redis_restarts_empty(tmp_path):
    """A Redis restart without persistence takes the lease and the schedule with it; the
    beat takes the lease again and puts the schedule back instead of exiting."""
    server = RedisServer(tmp_path)
    env = beat_env(REDIS_URL=server.url, CELERY_BROKER_URL=server.url, CACHE_URL=server.url)
    beat = start_beat(env)
    try:
        wait_until(lambda: sent(beat, "sla-scan"), 60, "the beat to send the SLA scan", beat)
        server.stop()
        server.start()  # empty: no lease, no schedule, no period claims
        count = len(sent(beat, "sla-scan"))
        wait_until(
            lambda: len(sent(beat, "sla-scan")) >= count + 2,
            60,
            "the beat to schedule the SLA scan again after the restart",
            beat,
        )
        assert beat.proc.poll() is None
    finally:
        beat.stop(sig=9)
        server.stop()
