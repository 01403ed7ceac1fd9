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

from .beats import beat_env, beats, sent

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
