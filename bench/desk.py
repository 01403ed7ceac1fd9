"""Benchmark the agents' workspace (issue 13): view lists, the ticket page and the
sidebar's counts, with 1,000,000 tickets and ~5,000,000 messages on PostgreSQL.

Run from the repository root against a PostgreSQL server you may create a database on:

    apt-get install -y wrk
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_desk_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/desk.py --runs 3

The database is created if missing, migrated and filled once by bench/desk_fill.py (bulk
SQL; re-runs reuse it, ``--rebuild`` starts over); a sample of the workspace's read-model
rows is then rebuilt by ``workspace.rows`` and must equal what the fill wrote.

Each round starts gunicorn (2 sync workers, the class docker-compose.yml runs; ``--worker-class
gthread --threads N`` for keep-alive connections; sessions in Redis, ``DEBUG=0``; every
answer is read from PostgreSQL; list rows' HTML is kept per worker, keyed by all the row
shows, unless ``--no-fragment-cache``; the sidebar's counts are kept per worker between
changes of the read model, unless ``--no-counts-cache``: report both figures) and a writer process
that changes tickets through the services ``--write-rate`` times a second (customer
replies, notes, assignments, status and severity changes; the SLA recompute and the
other tasks they queue run inline in the writer, as a worker would run them), then loads
with wrk (closed loop, 32 connections, latency measured at the client with queueing):

* every view of the sidebar of one agent (built-in, per department, saved), first page;
* the ticket page of 2,000 random unsolved tickets (wrk picks one per request);
* the sidebar's counts (what the page polls), one statement for all views.

Then 1 connection, for the latency without queueing. CPU per request of the gunicorn
workers and their PostgreSQL backends comes from /proc; so does the **whole machine's**
CPU a request over the 32-connection load (/proc/stat's busy jiffies ÷ requests) and its
split by process group (bench/machine_cpu.py: gunicorn, its PostgreSQL backends, the
cluster's other PostgreSQL processes, the writer and its backend, Redis, wrk, this script,
kernel threads, unattributed, and other processes: other tenants of a shared machine),
with the run queue and PSI's CPU stall share: at 32 connections on 2 cores a page's p95
follows everything that takes the cores, not the workers alone. Targets: view list p95 < 100 ms,
ticket page p95 < 150 ms, counts p95 < 50 ms. Writes bench/results/desk.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time as clock
import urllib.request
from importlib import import_module
from pathlib import Path
from typing import Any

import desk_fill  # bench/ is the script folder: sys.path[0]
from machine_cpu import Proc, Sampler
from pgdb import create_database
from web import WRK_REPORT, start_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS_MS = {"view": 100, "ticket": 150, "counts": 50}
TICKET_SAMPLE = 2000
WRITER_NAME = "bench-desk-writer"


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<bench database>: this bench is about PostgreSQL.")
    create_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()


def agent_session() -> tuple[Any, dict[str, str]]:
    """Return the bench agent and the headers of its signed-in browser."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.middleware.csrf import _get_new_csrf_string

    agent = get_user_model().objects.get(username="bench-agent-00")
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(agent.pk)
    store["_auth_user_backend"] = "workspace.auth.AgentBackend"
    store["_auth_user_hash"] = agent.get_session_auth_hash()
    store.create()
    # A browser sends back the CSRF cookie its first page set.
    csrf = f"{settings.CSRF_COOKIE_NAME}={_get_new_csrf_string()}"
    return agent, {"Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}; {csrf}"}


def load_targets(agent: Any) -> dict[str, dict[str, Any]]:
    """Return what is loaded: every view of the agent's sidebar, ticket pages, counts."""
    from django.urls import reverse

    from workspace.models import TicketRow
    from workspace.queues import agent_views

    targets: dict[str, dict[str, Any]] = {}
    for view in agent_views(agent):
        targets[f"view {view.key}"] = {
            "kind": "view",
            "paths": [reverse("workspace:view", args=[view.key])],
            "marker": 'id="ticket-table"',
        }
    numbers = list(
        TicketRow.objects.filter(unsolved=True, number__gt=desk_fill.FIRST_NUMBER).values_list(
            "number", flat=True
        )
    )
    sample = random.Random(7).sample(numbers, min(TICKET_SAMPLE, len(numbers)))
    targets["ticket page"] = {
        "kind": "ticket",
        "paths": [reverse("workspace:ticket", args=[n]) for n in sample],
        "marker": 'id="composer"',
    }
    targets["counts"] = {
        "kind": "counts",
        "paths": [reverse("workspace:counts") + "?current=mine"],
        "marker": 'data-count="mine"',
    }
    return targets


def check(port: int, target: dict[str, Any], headers: dict[str, str]) -> None:
    """Fetch the target's first and a random path; stop unless both answer 200 with
    what the page must show (a lost session would be measured as fast redirects)."""
    for path in {target["paths"][0], random.choice(target["paths"])}:
        url = f"http://127.0.0.1:{port}{path}"
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our server
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            body = response.read().decode()
            if response.status != 200 or response.url != url or target["marker"] not in body:
                sys.exit(f"{url} answered {response.status} at {response.url} without the page")


def wrk(
    port: int, paths: list[str], headers: dict[str, str], connections: int, seconds: int
) -> dict[str, Any]:
    """Run wrk closed-loop; each request goes to one of ``paths`` at random."""
    listed = ", ".join(json.dumps(p) for p in paths)
    script = f"local paths = {{{listed}}}\n"
    script += "request = function() return wrk.format(nil, paths[math.random(#paths)]) end\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + WRK_REPORT)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s"]
    command += ["-s", lua.name]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(f"http://127.0.0.1:{port}{paths[0]}")
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    finally:
        Path(lua.name).unlink()
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    raw = json.loads(line[4:])
    return {
        "requests": raw["requests"],
        "errors": raw["errors"] + raw["non_2xx_3xx"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
    }


def server_pids(server: subprocess.Popen) -> tuple[list[int], list[int]]:
    """Return gunicorn's master and worker pids, and the workers' PostgreSQL backends
    (not the writer's, nor ours)."""
    from django.db import connection

    pids = [server.pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name <> %s",
            [WRITER_NAME],
        )
        backends = [row[0] for row in cur.fetchall()]
    connection.close()
    return pids, backends


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """Return each live process's user+system CPU seconds so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def cpu_used(before: dict[int, float], pids: list[int]) -> float:
    """Return the CPU seconds the processes used since ``before`` (those alive at both
    ends: a backend that ended meanwhile would otherwise count negative)."""
    after = cpu_by_pid(pids)
    return sum(after[pid] - before[pid] for pid in after.keys() & before.keys())


def roles(server: subprocess.Popen, writer: subprocess.Popen) -> dict[str, set[int]]:
    """Return the pids of what the bench runs, by role: gunicorn (master and workers),
    its PostgreSQL backends, the writer and its backend, the cluster's postmaster and the
    Redis server (the ones in DATABASE_URL and REDIS_URL, on this machine)."""
    import redis
    from django.db import connection

    gunicorn, _ = server_pids(server)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pid, application_name = %s FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            [WRITER_NAME],
        )
        backends = cur.fetchall()
        cur.execute("SELECT pg_backend_pid()")
        own = cur.fetchone()[0]
    connection.close()
    try:
        postmaster = int(Path(f"/proc/{own}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:  # PostgreSQL on another machine
        postmaster = -1
    found = redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")
    return {
        "gunicorn": set(gunicorn),
        "gunicorn_pg": {pid for pid, is_writer in backends if not is_writer},
        "writer": {writer.pid},
        "writer_pg": {pid for pid, is_writer in backends if is_writer},
        "postmaster": {postmaster},
        "redis": {int(found["process_id"])},
    }


GROUPS = (
    "gunicorn",
    "gunicorn's PostgreSQL",
    "PostgreSQL, other",
    "writer",
    "writer's PostgreSQL",
    "redis",
    "wrk",
    "bench script",
)


def classifier(found: dict[str, set[int]]) -> Any:
    """Return the function that names a process's group (``machine_cpu.Sampler.split``)."""
    bench = os.getpid()
    postmaster = next(iter(found["postmaster"]))

    def classify(proc: Proc) -> str:
        if proc.pid in found["gunicorn"] or proc.ppid in found["gunicorn"]:
            return "gunicorn"
        if proc.pid in found["gunicorn_pg"]:
            return "gunicorn's PostgreSQL"
        if proc.pid in found["writer_pg"]:
            return "writer's PostgreSQL"
        if proc.pid == postmaster or proc.ppid == postmaster:
            return "PostgreSQL, other"  # autovacuum, WAL, checkpoints, ended backends
        if proc.pid in found["writer"]:
            return "writer"
        if proc.pid in found["redis"]:
            return "redis"
        if proc.pid == bench:
            return "bench script"
        return ""

    return classify


def measure(
    port: int,
    server: subprocess.Popen,
    writer: subprocess.Popen,
    target: dict[str, Any],
    headers: dict[str, str],
    connections: int,
    seconds: int,
) -> dict[str, Any]:
    check(port, target, headers)
    wrk(port, target["paths"], headers, connections, 2)  # warm-up: connections, plans
    found = roles(server, writer)
    workers, backends = sorted(found["gunicorn"]), sorted(found["gunicorn_pg"])
    load1 = os.getloadavg()[0]
    python0, pg0 = cpu_by_pid(workers), cpu_by_pid(backends)
    sampler = Sampler()
    sampler.start()
    loaded = wrk(port, target["paths"], headers, connections, seconds)
    sampler.stop()
    python, pg = cpu_used(python0, workers), cpu_used(pg0, backends)
    # Backends that appeared in the load (a replaced connection) count for their group.
    after = roles(server, writer)
    for role, pids in after.items():
        found[role] |= pids
    machine = sampler.split(classifier(found), loaded["requests"], reaped={os.getpid(): "wrk"})
    desk_ms = sum(machine["by_group_ms"].get(g, 0.0) for g in GROUPS)
    check(port, target, headers)
    single = wrk(port, target["paths"], headers, 1, max(seconds // 3, 2))
    requests = max(loaded["requests"], 1)
    return {
        f"c{connections}": loaded,
        "c1": single,
        "gunicorn_cpu_ms_per_request": round(python * 1000 / requests, 2),
        "postgres_cpu_ms_per_request": round(pg * 1000 / requests, 2),
        "machine_cpu_ms_per_request": machine["machine_cpu_ms_per_request"],
        "desk_cpu_ms_per_request": round(desk_ms, 3),
        "machine": machine,
        "machine_cores_busy": machine["machine_cores_busy"],
        "server_cores": round((python + pg) / seconds, 2),
        "load_average_before": round(load1, 2),
    }


# --- the writer process -------------------------------------------------------------------


def writer_main(rate: float) -> None:
    """Change tickets through the services ``rate`` times a second until SIGTERM; print
    how many changes were made and how long it ran."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from supportdesk.celery import app
    from tickets.models import Severity, Status, Ticket
    from tickets.services import (
        MessageIn,
        message_add,
        ticket_assign,
        ticket_severity_set,
        ticket_status_set,
    )
    from workspace.models import TicketRow

    app.conf.task_always_eager = True  # the tasks a change queues run here, as a worker would
    with connection.cursor() as cur:
        cur.execute("SET application_name = %s", [WRITER_NAME])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    rng = random.Random()
    agents = list(get_user_model().objects.filter(username__startswith="bench-agent-"))
    pool = list(
        TicketRow.objects.filter(unsolved=True, number__gt=desk_fill.FIRST_NUMBER).values_list(
            "ticket_id", flat=True
        )
    )
    nexts = {
        Status.NEW: Status.OPEN,
        Status.OPEN: Status.PENDING_CUSTOMER,
        Status.PENDING_CUSTOMER: Status.OPEN,
        Status.ON_HOLD: Status.OPEN,
        Status.SOLVED: Status.OPEN,
    }
    began, done, failed = clock.monotonic(), 0, 0
    next_at = began
    while not stop:
        ticket = Ticket.objects.select_related("contact").get(pk=rng.choice(pool))
        agent = rng.choice(agents)
        roll = rng.random()
        try:
            if roll < 0.35 and ticket.contact is not None:
                message_add(
                    ticket=ticket,
                    message=MessageIn(
                        channel="email",
                        body_text=f"Any news? ({done})",
                        author_contact=ticket.contact,
                        external_id=f"<bench-writer-{os.getpid()}-{done}@mail.example>",
                    ),
                )
            elif roll < 0.45:
                message_add(
                    ticket=ticket,
                    message=MessageIn(
                        channel="note",
                        direction="internal",
                        body_text="Checked the logs; waiting for the provider.",
                        author_user=agent,
                    ),
                    actor=agent,
                )
            elif roll < 0.65:
                ticket_assign(ticket=ticket, assignee=agent if rng.random() < 0.9 else None)
            elif roll < 0.85 and ticket.status in nexts:
                target = Status.SOLVED if rng.random() < 0.05 else nexts[ticket.status]
                ticket_status_set(ticket=ticket, status=target, actor=agent)
            else:
                severity = Severity.S2 if ticket.severity != Severity.S2 else Severity.S3
                ticket_severity_set(ticket=ticket, severity=severity, actor=agent)
            done += 1
        except Exception as exc:  # a transition the ticket refuses: count it, go on
            failed += 1
            print(f"writer: {type(exc).__name__}: {exc}", file=sys.stderr)
        next_at += 1 / rate
        pause = next_at - clock.monotonic()
        if pause > 0:
            clock.sleep(pause)
    print(json.dumps({"writes": done, "failed": failed, "seconds": clock.monotonic() - began}))


def start_writer(rate: float, debug: bool = False) -> subprocess.Popen:
    command = [sys.executable, __file__, "--writer", "--write-rate", str(rate)]
    # DEBUG=0 as gunicorn's (and docker-compose.yml's worker): with the demo's default,
    # DEBUG=1, every statement went through Django's debug cursor (timed, its SQL kept),
    # ~10-15 % of the writer's CPU a change, which no production worker spends. Its log
    # stays at INFO, as the worker's (a line a task).
    env = {**os.environ, "DEBUG": "1" if debug else "0"}
    return subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )


def stop_writer(writer: subprocess.Popen) -> dict[str, Any]:
    writer.send_signal(signal.SIGTERM)
    out, _ = writer.communicate(timeout=60)
    found = json.loads(out.strip().splitlines()[-1])
    found["per_second"] = round(found["writes"] / max(found["seconds"], 1e-9), 2)
    return found


# --- main ---------------------------------------------------------------------------------


def _median(rows: list[dict[str, Any]], *keys: str) -> float:
    values = []
    for row in rows:
        for key in keys:
            row = row[key]
        values.append(row)
    return round(statistics.median(values), 2)


def _median_of(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]  # None: no PSI on this kernel
    return round(statistics.median(found), 2) if found else None


def summarize(runs: list[dict[str, Any]], loaded: str) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key in runs[0]["pages"]:
        page = [r["pages"][key] for r in runs]
        summary[key] = {
            loaded: {k: _median(page, loaded, k) for k in ("p50_ms", "p95_ms", "p99_ms", "rps")},
            "c1": {k: _median(page, "c1", k) for k in ("p50_ms", "p95_ms")},
            "errors": sum(r[loaded]["errors"] + r["c1"]["errors"] for r in page),
            **{
                k: _median(page, k)
                for k in (
                    "gunicorn_cpu_ms_per_request",
                    "postgres_cpu_ms_per_request",
                    "server_cores",
                    "machine_cores_busy",
                    "load_average_before",
                    "machine_cpu_ms_per_request",
                    "desk_cpu_ms_per_request",
                )
            },
            "machine": {
                "by_group_ms": {
                    g: round(
                        statistics.median(p["machine"]["by_group_ms"].get(g, 0.0) for p in page), 3
                    )
                    for g in SPLIT_COLUMNS
                },
                **{
                    k: _median_of([p["machine"][k] for p in page])
                    for k in ("run_queue_mean", "psi_cpu_some", "steal_cores")
                },
                # The writer's CPU (its Python and its backend's) a ticket change.
                "writer_ms_per_change": _median_of(
                    [_writer_per_change(r["pages"][key], r["writer"], loaded) for r in runs]
                ),
            },
        }
    return summary


def _writer_per_change(page: dict[str, Any], writes: dict[str, Any], loaded: str) -> float:
    split = page["machine"]["by_group_ms"]
    per_request = split.get("writer", 0.0) + split.get("writer's PostgreSQL", 0.0)
    return round(per_request * page[loaded]["rps"] / max(writes["per_second"], 1e-9), 1)


SPLIT_COLUMNS = (*GROUPS, "kernel threads", "unattributed", "other processes")


def print_split(summary: dict[str, Any], loaded: str) -> None:
    """Print where the machine's CPU went a request, by process group; and the p50 beside
    16 × the machine's CPU a request (at 32 connections on 2 busy cores, the mean wait)."""
    connections, cores = int(loaded[1:]), os.cpu_count() or 1
    print(
        "\n| page | machine ms/req | desk's | "
        + " | ".join(SPLIT_COLUMNS)
        + f" | run queue | PSI some | steal cores | writer ms/change | p50 / {connections // cores}"
        " × machine |"
    )
    print("|---|" + "---:|" * (len(SPLIT_COLUMNS) + 7))
    for key, row in summary.items():
        split = row["machine"]
        cells = " | ".join(f"{split['by_group_ms'][g]:.2f}" for g in SPLIT_COLUMNS)
        waited = connections / cores * row["machine_cpu_ms_per_request"]
        print(
            f"| {key} | {row['machine_cpu_ms_per_request']:.2f} "
            f"| {row['desk_cpu_ms_per_request']:.2f} | {cells} "
            f"| {split['run_queue_mean']} | {split['psi_cpu_some']} | {split['steal_cores']} "
            f"| {split['writer_ms_per_change']} | {row[loaded]['p50_ms']} / {waited:.1f} |"
        )


def print_table(summary: dict[str, Any], kinds: dict[str, str], loaded: str) -> None:
    print(
        f"| page | {loaded[1:]} conns p50 / p95 ms | req/s | 1 conn p50 / p95 ms "
        "| CPU ms/req gunicorn + PostgreSQL | load before | target p95 | met |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for key, row in summary.items():
        target = TARGETS_MS[kinds[key]]
        met = "yes" if 0 < row[loaded]["p95_ms"] < target and not row["errors"] else "**no**"
        print(
            f"| {key} | {row[loaded]['p50_ms']} / {row[loaded]['p95_ms']} | {row[loaded]['rps']} "
            f"| {row['c1']['p50_ms']} / {row['c1']['p95_ms']} "
            f"| {row['gunicorn_cpu_ms_per_request']} + {row['postgres_cpu_ms_per_request']} "
            f"| {row['load_average_before']} | < {target} | {met} |"
        )


def data_sizes() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM tickets_ticket), (SELECT count(*) FROM "
            "tickets_message), (SELECT count(*) FROM workspace_ticketrow WHERE unsolved), "
            "pg_size_pretty(pg_database_size(current_database()))"
        )
        tickets, messages, unsolved, size = cur.fetchone()
    return {"tickets": tickets, "messages": messages, "unsolved": unsolved, "database": size}


def _commit() -> str:
    found = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the data")
    parser.add_argument("--seconds", type=int, default=10, help="load per page and round")
    parser.add_argument("--runs", type=int, default=3, help="rounds; the table shows medians")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads of a gthread worker")
    parser.add_argument("--write-rate", type=float, default=4.0, help="ticket changes a second")
    parser.add_argument("--only", default="", help="comma-separated page names to load")
    parser.add_argument(
        "--tickets", type=int, default=desk_fill.TICKETS, help="a smaller desk to try the bench"
    )
    parser.add_argument(
        "--no-prepared",
        action="store_true",
        help="DB_PREPARED_STATEMENTS=0: the workspace's reads planned on every request",
    )
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="DB_PREPARED_STATEMENTS=1 (the default): the workspace's reads as prepared statements",
    )
    parser.add_argument(
        "--no-fragments",
        action="store_true",
        help="SUPPORTDESK_MESSAGE_FRAGMENTS=0: the ticket page writes every message every time",
    )
    parser.add_argument(
        "--no-fragment-cache",
        action="store_true",
        help="SUPPORTDESK_ROW_FRAGMENTS=0: every list row rendered on every page (uncached)",
    )
    parser.add_argument(
        "--no-counts-cache",
        action="store_true",
        help="SUPPORTDESK_COUNTS_SECONDS=0: the sidebar's counts counted on every poll (uncached)",
    )
    parser.add_argument(
        "--writer-debug",
        action="store_true",
        help="the writer with DEBUG=1, as before 2026-12-07's sixteenth round (comparison)",
    )
    parser.add_argument("--port", type=int, default=18441)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.no_fragments:  # for gunicorn, started with this env
        os.environ["SUPPORTDESK_MESSAGE_FRAGMENTS"] = "0"
    fragments = os.environ.get("SUPPORTDESK_MESSAGE_FRAGMENTS", "").strip() != "0"
    if args.no_prepared or args.prepared:  # for gunicorn, started with this env
        os.environ["DB_PREPARED_STATEMENTS"] = "1" if args.prepared else "0"
    if args.no_fragment_cache:
        os.environ["SUPPORTDESK_ROW_FRAGMENTS"] = "0"
    if args.no_counts_cache:
        os.environ["SUPPORTDESK_COUNTS_SECONDS"] = "0"
    from supportdesk.env import env_bool, env_int

    prepared = env_bool("DB_PREPARED_STATEMENTS", True)  # as settings.py reads it
    row_fragments = env_int("SUPPORTDESK_ROW_FRAGMENTS", 5000)
    counts_seconds = env_int("SUPPORTDESK_COUNTS_SECONDS", 10)
    desk_fill.scale(args.tickets)
    setup_django()
    if args.writer:
        writer_main(args.write_rate)
        return
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:  # noqa: S607
        sys.exit("wrk is missing: apt-get install -y wrk (Debian's wrk 4.1.0).")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fill_steps = desk_fill.fill() if args.rebuild or not desk_fill.filled() else {}
    if fill_steps:
        print("filled:", json.dumps(fill_steps))
    differing = desk_fill.rows_check()
    if differing:
        sys.exit(f"{differing} read-model rows differ from what workspace.rows builds.")
    sizes = data_sizes()
    print("data:", json.dumps(sizes))
    agent, headers = agent_session()
    targets = load_targets(agent)
    if args.only:
        targets = {k: v for k, v in targets.items() if k in args.only.split(",")}
    from django.db import connections

    connections.close_all()
    loaded = f"c{args.connections}"
    started = clock.time()
    runs: list[dict[str, Any]] = []
    for run in range(args.runs):
        server = start_server(
            args.port, args.worker_class, args.workers, args.threads, list_cache=False
        )
        writer = start_writer(args.write_rate, debug=args.writer_debug)
        pages: dict[str, Any] = {}
        try:
            for name, target in targets.items():
                pages[name] = measure(
                    args.port, server, writer, target, headers, args.connections, args.seconds
                )
                print(f"  {name}: {json.dumps(pages[name][loaded])}", flush=True)
                print(f"    machine: {json.dumps(pages[name]['machine'])}", flush=True)
        finally:
            writes = stop_writer(writer)
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        runs.append({"pages": pages, "writer": writes})
        print(f"run {run + 1}/{args.runs} done; writer: {json.dumps(writes)}", flush=True)

    summary = summarize(runs, loaded)
    kinds = {k: v["kind"] for k, v in targets.items()}
    writes = statistics.median(r["writer"]["per_second"] for r in runs)
    print(
        f"{sizes['tickets']:,} tickets ({sizes['unsolved']:,} unsolved), "
        f"{sizes['messages']:,} messages; gunicorn {args.workers} {args.worker_class} workers"
        f"{f' × {args.threads} threads' if args.worker_class == 'gthread' else ''}; wrk; "
        f"{writes:g} ticket changes/s; {args.seconds} s per load; medians of {args.runs} runs; "
        f"prepared statements {'on' if prepared else 'off'}; "
        f"message fragments {'kept' if fragments else 'off'}; "
        f"row fragments kept {row_fragments or 'off'}; "
        f"counts kept {f'{counts_seconds} s at most' if counts_seconds else 'off'}; "
        f"writer DEBUG={int(args.writer_debug)}"
    )
    print_table(summary, kinds, loaded)
    print_split(summary, loaded)
    out = ROOT / "bench" / "results" / "desk.json"
    # Earlier results stay in the file, dated, for comparison with this one.
    earlier: list[dict[str, Any]] = []
    if out.exists():
        before = json.loads(out.read_text())
        earlier = before.pop("earlier", [])
        before.pop("per_run", None)
        earlier.insert(0, before)
    out.write_text(
        json.dumps(
            {
                "date": clock.strftime("%Y-%m-%d %H:%M UTC", clock.gmtime(started)),
                "commit": _commit(),
                "data": sizes,
                "fill_seconds": fill_steps,
                "connections": args.connections,
                "load_generator": "wrk 4.1.0, 1 thread, closed loop",
                "gunicorn": {
                    "worker_class": args.worker_class,
                    "workers": args.workers,
                    "threads": args.threads,
                },
                "write_rate": args.write_rate,
                "writer_debug": args.writer_debug,
                "prepared_statements": prepared,
                "row_fragments": row_fragments,
                "counts_kept_seconds": counts_seconds,
                "message_fragments": fragments,
                "writes_per_second_median": writes,
                "seconds_per_load": args.seconds,
                "runs": args.runs,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "targets_p95_ms": TARGETS_MS,
                "kinds": kinds,
                "medians": summary,
                "per_run": runs,
                "earlier": earlier,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
