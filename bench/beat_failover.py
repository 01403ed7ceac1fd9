"""Beat failover with the production settings: kill -9 the scheduling beat, time the
handover.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/beat_failover.py [--rounds 3]

Starts two ``celery beat`` processes (the default 30 s lease, 5 s loop), waits until one
holds the lease, kills it with SIGKILL, and measures the time until the other logs that it
acquired the lock, and until it sends its first SLA scan. Tasks go to a throwaway queue and
the Redis keys are removed after. Prints a table and writes bench/results/beat_failover.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


class Beat:
    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "supportdesk", "beat", "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line))

    def first(self, text: str, after: float = 0.0) -> float | None:
        return next((t for t, line in list(self.lines) if text in line and t >= after), None)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def wait(check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := check()) is not None:
            return found
        time.sleep(0.1)
    raise SystemExit("timed out")


def one_round(redis_url: str) -> dict[str, float]:
    prefix = f"bench-beat-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "REDIS_URL": redis_url,
        "SUPPORTDESK_BEAT_KEY_PREFIX": prefix,
        "SUPPORTDESK_CELERY_QUEUE": f"{prefix}-queue",
    }
    beats = [Beat(env), Beat(env)]
    try:
        leader = wait(lambda: next((b for b in beats if b.first("Acquired lock")), None), 120)
        wait(lambda: leader.first("sending sla-scan"), 120)
        standby = beats[1] if leader is beats[0] else beats[0]
        killed = time.monotonic()
        leader.kill()
        acquired = wait(lambda: standby.first("Acquired lock", killed), 180)
        scan = wait(lambda: standby.first("sending sla-scan", killed), 180)
        return {"lock_s": acquired - killed, "first_scan_s": scan - killed}
    finally:
        for beat in beats:
            beat.kill()
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/beat_failover.json")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL") or sys.exit("set REDIS_URL")
    rounds = [one_round(redis_url) for _ in range(args.rounds)]
    lock = [r["lock_s"] for r in rounds]
    scan = [r["first_scan_s"] for r in rounds]
    rows = [("other beat holds the lease", lock), ("its first SLA scan sent", scan)]
    print("| measure (kill -9 of the scheduling beat →) | median s | max s | rounds |")
    print("|---|---:|---:|---:|")
    for label, values in rows:
        print(f"| {label} | {statistics.median(values):.1f} | {max(values):.1f} | {len(values)} |")
    summary = {
        "lease_s": 30,
        "loop_s": 5,
        "sla_scan_every_s": 60,
        "rounds": rounds,
        "median_lock_s": statistics.median(lock),
        "median_first_scan_s": statistics.median(scan),
    }
    args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
