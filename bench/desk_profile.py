"""CPU per request of the workspace's pages, measured in-process: the figure a loaded
machine does not blur.

bench/desk.py measures latency under load with gunicorn and wrk; on a shared machine its
latencies follow the other tenants, but the CPU one request costs does not. This script
sends the same requests as bench/desk.py (a signed-in agent's views, ticket pages, the
sidebar's counts) through Django's WSGI handler and middleware in this process, as
gunicorn's sync worker calls it (``--test-client``: through Django's test client, which
adds its own work, as before), and
reports, per page, the process CPU time per request of Python and of the PostgreSQL
backend serving it (from /proc), with ``--profile NAME`` a cProfile listing of that page:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_desk_bench REDIS_URL=redis://… \\
      .venv/bin/python bench/desk_profile.py --requests 200 [--tickets 20000] \\
      [--profile "view mine"] [--sort tottime]   (PROFILE_LINES=N: rows listed, 45)

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


class WsgiClient:
    """GETs through Django's WSGI handler as gunicorn's sync worker calls it: an environ
    of the request's headers, the answer's body iterated and closed. Django's test client
    adds its own work (its request factory, signal receivers recording the templates and
    context of every render), which no worker pays."""

    def __init__(self, cookie: str) -> None:
        from django.core.wsgi import get_wsgi_application

        self.application = get_wsgi_application()
        self.cookie = cookie

    def get(self, path: str) -> Any:
        from io import BytesIO
        from types import SimpleNamespace

        route, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "HTTP_USER_AGENT": "wrk",
            "HTTP_COOKIE": self.cookie,
            "wsgi.input": BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        body = self.application(environ, lambda s, h, e=None: status.append(s))
        try:
            content = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return SimpleNamespace(status_code=int(status[0].split()[0]), content=content)


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
    parser.add_argument(
        "--test-client", action="store_true", help="Django's test client, not the WSGI handler"
    )
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
    client: Any = (
        Client(HTTP_COOKIE=headers["Cookie"]) if args.test_client else WsgiClient(headers["Cookie"])
    )
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
            stats.sort_stats(args.sort).print_stats(int(os.environ.get("PROFILE_LINES", "45")))
            print(out.getvalue())
        figures[name] = measure(client, paths, target["marker"], args.requests, args.cold)
        print(f"{name}: {json.dumps(figures[name])}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
