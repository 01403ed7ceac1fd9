"""CPU per request of the workspace's pages, measured in-process: the figure a loaded
machine does not blur.

bench/desk.py measures latency under load with gunicorn and wrk; on a shared machine its
latencies follow the other tenants, but the CPU one request costs does not. This script
sends the same requests as bench/desk.py (a signed-in agent's views, ticket pages, the
sidebar's counts) through Django's full handler and middleware in this process and
reports, per page, the process CPU time per request of Python and of the PostgreSQL
backend serving it (from /proc), with ``--profile NAME`` a cProfile listing of that page:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_desk_bench REDIS_URL=redis://… \\
      .venv/bin/python bench/desk_profile.py --requests 200 [--tickets 20000] \\
      [--profile "view mine"] [--sort tottime]

The database is the one bench/desk.py fills (``--tickets`` fills a smaller one if it is
empty). No cache of pages is involved; caches of page parts stay on (they are part of
what is measured), and are what ``--cold`` clears before every request.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time as clock
from pathlib import Path
from typing import Any

import desk  # bench/ is the script folder: sys.path[0]
import desk_fill

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """Return the CPU seconds the PostgreSQL backend ``pid`` has used (0 if not local)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def backend_pids() -> list[int]:
    from django.db import connections

    pids = []
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(cursor.fetchone()[0])
    return sorted(set(pids))


def measure(client: Any, paths: list[str], marker: str, count: int, cold: bool) -> dict[str, Any]:
    from django.core.cache import cache

    for path in paths[:3]:  # warm-up, and the page must be the page
        response = client.get(path)
        body = response.content.decode()
        if response.status_code != 200 or marker not in body:
            sys.exit(f"{path} answered {response.status_code} without {marker!r}")
    pids = backend_pids()
    db_before = sum(backend_cpu(p) for p in pids)
    cpu_before, wall_before = clock.process_time(), clock.perf_counter()
    for i in range(count):
        if cold:
            cache.clear()
        client.get(paths[i % len(paths)])
    cpu = clock.process_time() - cpu_before
    wall = clock.perf_counter() - wall_before
    db = sum(backend_cpu(p) for p in pids) - db_before
    return {
        "requests": count,
        "python_cpu_ms": round(cpu * 1000 / count, 2),
        "postgres_cpu_ms": round(db * 1000 / count, 2),
        "wall_ms": round(wall * 1000 / count, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per page")
    parser.add_argument("--tickets", type=int, default=desk_fill.TICKETS)
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--profile", default="", help="a page name: print its cProfile")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: tottime…")
    parser.add_argument("--cold", action="store_true", help="clear the cache before each request")
    parser.add_argument("--out", default="", help="write the figures to this JSON file")
    args = parser.parse_args()
    desk_fill.scale(args.tickets)
    os.environ.update({"DEBUG": "0", "ALLOWED_HOSTS": "testserver", "LOG_LEVEL": "WARNING"})
    os.environ["SUPPORTDESK_LIST_CACHE_SECONDS"] = "0"
    desk.setup_django()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    if not desk_fill.filled():
        print("filled:", json.dumps(desk_fill.fill()), flush=True)
    agent, headers = desk.agent_session()
    targets = desk.load_targets(agent)
    # One view of each kind is enough for the CPU figure; --only picks others.
    wanted = ["view mine", "view at-risk", "ticket page", "counts"]
    wanted = args.only.split(",") if args.only else wanted
    client = Client(HTTP_COOKIE=headers["Cookie"])
    random.seed(7)
    figures: dict[str, Any] = {}
    for name in wanted:
        target = targets[name]
        paths = target["paths"][:200]
        if args.profile == name:
            profiler = cProfile.Profile(clock.process_time)  # CPU, not waits
            profiler.enable()
            measure(client, paths, target["marker"], args.requests, args.cold)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            if os.environ.get("PROFILE_DUMP"):
                stats.dump_stats(os.environ["PROFILE_DUMP"])
            stats.sort_stats(args.sort).print_stats(45)
            print(out.getvalue())
        figures[name] = measure(client, paths, target["marker"], args.requests, args.cold)
        print(f"{name}: {json.dumps(figures[name])}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
