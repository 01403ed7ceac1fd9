"""Celery beat that fails over: run any number of beats, exactly one schedules.

RedBeat keeps the schedule (each entry's last run) in Redis and lets one beat hold a lock
with a lease (``SUPPORTDESK_BEAT_LEASE_SECONDS``): the holder renews it on every tick, the
others wait for it. When the holder dies, its lease runs out and a waiting beat takes over
from the schedule in Redis, so a task due every minute stays on its minute.

A beat that stalls past its lease (a frozen VM) could still be mid-tick when another has
taken over; each send therefore first claims its period in Redis (``SET NX`` on
``<prefix>:run:<entry>:<period>``, periods counted on Redis's clock), so no periodic task
is sent twice in one period. The embedded default (no Redis) keeps Celery's own
single-process scheduler.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery.beat import ScheduleEntry
from redbeat import RedBeatScheduler
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis

log = logging.getLogger("celery.beat")

CRON_PERIOD_SECONDS = 60  # crontab entries fire at most once a minute


def period_seconds(entry: ScheduleEntry) -> int:
    """Return the length of one period of ``entry``'s schedule, in whole seconds."""
    run_every = getattr(entry.schedule, "run_every", None)
    if run_every is None:
        return CRON_PERIOD_SECONDS
    return max(1, int(run_every.total_seconds()))


class LeasedScheduler(RedBeatScheduler):
    """RedBeat's leased scheduler, plus a claim per entry and period before each send, and
    a beat that survives Redis going away: RedBeat's own exits when its lease is lost (a
    Redis restart empties it) or Redis does not answer; this one waits and competes for
    the lease again, so a restart of Redis never leaves the desk without a scheduler."""

    lock: Any  # RedBeat's lease (a redis Lock), None while another beat holds it

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            if self.lock is None and not self._acquire():
                return self.max_interval  # another beat schedules; wait for its lease to end
            return super().tick(*args, **kwargs)
        except redis.exceptions.LockError as exc:
            log.warning("beat: lost the lease (%s); competing for it again", exc)
            self.lock = None
        except redis.exceptions.RedisError as exc:
            log.warning("beat: Redis did not answer (%s); trying again", exc)
        return self.max_interval

    def _acquire(self) -> bool:
        """Take the lease if it is free; return whether this beat holds it."""
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)  # as RedBeat's own
        if not lock.acquire(blocking=False):
            return False
        log.info("beat: Acquired lock")
        self.lock = lock
        # Redis may have restarted empty: put the configured entries back (an entry still
        # there keeps its last run, so nothing runs early).
        self.setup_schedule()
        return True

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        period = self._claim(entry)
        if period is None:
            if advance:
                self.reserve(entry)  # move its next run on: this period's run happened
            return None
        log.info("beat: sending %s for period %s", entry.name, period)
        return super().apply_async(entry, producer, advance, **kwargs)

    def _claim(self, entry: ScheduleEntry) -> int | None:
        """Return the period number if this beat may send ``entry`` now, else None."""
        client = get_redis(self.app)
        seconds, _micro = client.time()  # one clock for every host
        length = period_seconds(entry)
        period = int(seconds) // length
        key = f"{self.app.redbeat_conf.key_prefix}:run:{entry.name}:{period}"
        if client.set(key, "1", nx=True, ex=2 * length + 60):
            return period
        log.warning("beat: %s was already sent for period %s; not again", entry.name, period)
        return None
