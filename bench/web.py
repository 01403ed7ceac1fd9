"""Benchmark p50/p95 latency of the portal, API and admin ticket lists with 100,000 tickets.

Run from the repository root against a PostgreSQL server you may create a database on:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_web_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/web.py

The database is created if missing, migrated and filled once (re-runs reuse it; --rebuild
starts over) by INSERT … SELECT generate_series: 1,000 reseller accounts, each with one
verified owner contact, and 100,000 tickets with one message each (100 per account).

Then gunicorn serves the app (2 sync workers: one per core of the reference machine)
and ``wrk`` (Debian package ``wrk``, 4.1.0: ``apt-get install -y wrk``) requests each
page over 32 connections in a closed loop (each connection sends its next request when
the previous answer arrived; sync workers close a connection after each answer and wrk
reconnects at once), then over 1 connection. wrk is C on epoll, so the load generator
takes a few percent of a core instead of competing with the server as a Python client
did (its CPU per request is reported). Latency is measured at the client, so it includes
queueing. Before and after every load each page is fetched once and must answer 200
with its rows (a lost session would otherwise turn into fast redirects); wrk counts
every non-2xx/3xx answer as an error.

* portal: ``/portal/tickets/`` for an account owner (the newest 50 of its 100 tickets);
* api: ``/api/v1/tickets/`` (first cursor page of 50, most recently updated first);
* admin: ``/admin/tickets/ticket/`` as a superuser (50 rows per page, capped count).

Three modes (``--modes``), each its own server: ``cached`` (the ticket-list cache of
webcache/list_cache.py on, nothing changing: every answer after the first is replayed),
``cached+writes`` (the same while a thread changes a ticket's severity through the service
``--write-rate`` times a second, 2 by default: each change renders every list anew once)
and ``uncached`` (SUPPORTDESK_LIST_CACHE_SECONDS=0: every answer rendered, what a page
costs right after a change). Sessions live in Redis (``cached_db``) in all three; set
REDIS_URL. Browsers send back their CSRF cookie, so the loads do too.

Each of --runs rounds starts a fresh server per mode and measures every page; the table
shows the medians over rounds. Server CPU per request (gunicorn workers and their PostgreSQL
backends, from /proc) is reported too: it moves far less than latency when other jobs
share the machine. Targets (issue 5): API and portal p95 < 50 ms, admin p95 < 150 ms.

Writes bench/results/web.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time as clock
import urllib.request
from importlib import import_module
from pathlib import Path
from typing import Any

from pgdb import create_database  # bench/ is the script folder: sys.path[0]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TICKETS, ACCOUNTS = 100_000, 1_000
FIRST_NUMBER = 500_000_000  # far from the live counter
TARGETS_MS = {"portal": 50, "api": 50, "admin": 150}


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<bench database>: this bench is about PostgreSQL.")
    create_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    import django

    django.setup()


def _copy_sql(
    model, template_pk: int, overrides: dict[str, str], source: str, where: str = "TRUE"
) -> str:
    """Return INSERT … SELECT copying ``template_pk``'s row with SQL ``overrides``."""
    table = model._meta.db_table
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(f'"{field.column}"')
        values.append(overrides.get(field.column, f't."{field.column}"'))
    # Bench-only SQL built from model metadata and constants, never from input.
    select = f'SELECT {", ".join(values)} FROM "{table}" t, {source}'  # noqa: S608
    condition = f"WHERE t.id = {template_pk} AND {where}"
    return f'INSERT INTO "{table}" ({", ".join(columns)}) {select} {condition}'


def fill(rebuild: bool) -> float:
    """Insert the synthetic accounts, contacts and tickets once; return the seconds it took."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from tickets.models import Account, Contact, ContactEmail, Department, Message, Ticket
    from tickets.services import MessageIn, ticket_open

    call_command("migrate", verbosity=0)
    if Ticket.objects.filter(number__gte=FIRST_NUMBER).count() == TICKETS and not rebuild:
        return 0.0
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE tickets_ticket, tickets_account, tickets_contact, tickets_contactemail, "
            "channels_app_inboundrecord CASCADE"
        )
    began = clock.perf_counter()
    department = Department.objects.get(slug="customer-support")
    with transaction.atomic():
        accounts = Account.objects.bulk_create(
            Account(name=f"Reseller {i:04d}", reseller_id=f"R{i:05d}") for i in range(ACCOUNTS)
        )
        contacts = Contact.objects.bulk_create(
            Contact(account=a, name=f"Owner {i}", role="owner", verified_at=a.created_at)
            for i, a in enumerate(accounts)
        )
        ContactEmail.objects.bulk_create(
            ContactEmail(contact=c, email=f"owner{i}@reseller.example", is_primary=True)
            for i, c in enumerate(contacts)
        )
        # One ticket through the service supplies every column's default; SQL copies it.
        template = ticket_open(
            subject="template",
            department=department,
            contact=contacts[0],
            message=MessageIn(channel="email", body_text="template", author_contact=contacts[0]),
        )
        first_contact, first_account = contacts[0].pk, accounts[0].pk
        with connection.cursor() as cur:
            cur.execute(
                _copy_sql(
                    Ticket,
                    template.ticket.pk,
                    {
                        "number": f"{FIRST_NUMBER} + g",
                        "subject": "'Synthetic ticket ' || g",
                        "account_id": f"{first_account} + (g % {ACCOUNTS})",
                        "contact_id": f"{first_contact} + (g % {ACCOUNTS})",
                        "status": "(ARRAY['new','open','pending_customer','solved','closed'])"
                        "[1 + g % 5]",
                        "created_at": "now() - (g || ' minutes')::interval",
                        "updated_at": "now() - (g || ' minutes')::interval",
                    },
                    f"generate_series(0, {TICKETS - 1}) g",
                )
            )
            cur.execute(
                _copy_sql(
                    Message,
                    template.message.pk,
                    {
                        "ticket_id": "x.id",
                        "author_contact_id": "x.contact_id",
                        "body_text": "'Synthetic message for ' || x.subject",
                        "occurred_at": "x.created_at",
                        "received_at": "x.created_at",
                    },
                    "tickets_ticket x",
                    where=f"x.number >= {FIRST_NUMBER}",
                )
            )
        Ticket.objects.filter(pk=template.ticket.pk).delete()
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return clock.perf_counter() - began


def credentials() -> dict[str, dict[str, str]]:
    """Return the headers each target sends: a portal session, an API token, an admin login."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.middleware.csrf import _get_new_csrf_string

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # noqa: N806

    from api.models import Integration
    from portal.auth import SESSION_KEY
    from tickets.models import Contact

    owner = Contact.objects.filter(role="owner", account__reseller_id="R00001").get()
    portal = SessionStore()
    portal[SESSION_KEY] = owner.pk
    portal.create()

    integration, _ = Integration.objects.get_or_create(
        name="bench", defaults={"can_read_tickets": True}
    )
    token = integration.issue_token()

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    admin = SessionStore()
    admin["_auth_user_id"] = str(user.pk)
    admin["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    admin["_auth_user_hash"] = user.get_session_auth_hash()
    admin.create()
    # A browser sends back the CSRF cookie its first page set; without it every answer
    # would make a new secret (and set the cookie again).
    csrf = f"{settings.CSRF_COOKIE_NAME}={_get_new_csrf_string()}"
    return {
        "portal": {"path": "/portal/tickets/", "Cookie": f"sessionid={portal.session_key}; {csrf}"},
        "api": {"path": "/api/v1/tickets/", "Authorization": f"Token {token}"},
        "admin": {
            "path": "/admin/tickets/ticket/",
            "Cookie": f"sessionid={admin.session_key}; {csrf}",
        },
    }


MODES = {
    # mode: (list cache on, ticket changes per second while loading)
    "cached": (True, 0.0),
    "cached+writes": (True, None),  # None: --write-rate
    "uncached": (False, 0.0),
}


CONF = "supportdesk/gunicorn.conf.py"


def start_server(
    port: int, worker_class: str, workers: int, threads: int, list_cache: bool
) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}
    if not list_cache:
        env["SUPPORTDESK_LIST_CACHE_SECONDS"] = "0"
    # The settings docker-compose.yml's web service runs (supportdesk/gunicorn.conf.py).
    command = [sys.executable, "-m", "gunicorn", "supportdesk.wsgi", "-c", CONF, "-k", worker_class]
    command += ["-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    # --backlog: 32 waiting connections must queue in the kernel, never be refused.
    server = subprocess.Popen(  # noqa: S603
        [*command, "--backlog", "256"], cwd=ROOT, env=env, start_new_session=True
    )
    deadline = clock.monotonic() + 30
    while clock.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            clock.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start within 30 s")


MARKERS = {"portal": "Synthetic ticket", "api": '"results"', "admin": "Synthetic ticket"}


def check_page(port: int, name: str, target: dict[str, str]) -> None:
    """Fetch the page once; stop the bench unless it answers 200 with its rows."""
    headers = {k: v for k, v in target.items() if k != "path"}
    url = f"http://127.0.0.1:{port}{target['path']}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = response.read().decode()
        if response.status != 200 or response.url != url or MARKERS[name] not in body:
            sys.exit(f"{name}: {url} answered {response.status} at {response.url} without rows")


WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "duration_us": %d, "p50_us": %d, '
    .. '"p95_us": %d, "p99_us": %d, "max_us": %d, "errors": %d, "non_2xx_3xx": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def _cpu_seconds(pids: list[int]) -> float:
    """Return the user+system CPU seconds the processes used so far (gone ones count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _machine_busy() -> tuple[float, float]:
    """Return (busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def server_pids(server: subprocess.Popen) -> tuple[list[int], list[int]]:
    """Return gunicorn's master and worker pids, and the workers' PostgreSQL backends."""
    from django.db import connection

    pids = [server.pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    with connection.cursor() as cur:
        # The workers keep their connections (DB_CONN_MAX_AGE), so after the warm-up
        # every backend on the bench database but ours serves a worker.
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cur.fetchall()]
    connection.close()
    return pids, backends


def wrk(port: int, target: dict[str, str], connections: int, seconds: float) -> dict[str, Any]:
    """Run wrk closed-loop over ``connections`` connections; return its figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(WRK_REPORT)
    script = Path(lua.name)
    # --timeout 60s: a slow answer is measured, not dropped (wrk's default is 2 s).
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "60s"]
    command += ["-s", str(script)]
    for key, value in target.items():
        if key != "path":
            command += ["-H", f"{key}: {value}"]
    command.append(f"http://127.0.0.1:{port}{target['path']}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    finally:
        script.unlink()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # wrk is the only child that ends in between: its CPU, to show the client stays cheap.
    wrk_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    raw = json.loads(line[4:])
    return {
        "requests": raw["requests"],
        "errors": raw["errors"] + raw["non_2xx_3xx"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "wrk_cpu_ms_per_request": round(wrk_cpu * 1000 / max(raw["requests"], 1), 3),
    }


class Writer:
    """Changes one ticket's severity through the service ``rate`` times a second (a busy
    desk's agents and channels), so every change moves the lists' cache version on."""

    def __init__(self, rate: float) -> None:
        self.rate, self.writes = rate, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        if self.rate > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        from django.db import connection

        from tickets.models import Severity, Ticket
        from tickets.services import ticket_severity_set

        ids = list(
            Ticket.objects.filter(number__gte=FIRST_NUMBER, status__in=["new", "open"])
            .order_by("-updated_at")
            .values_list("pk", flat=True)[:5000]
        )
        rng = random.Random(5)
        next_at = clock.monotonic()
        try:
            while not self._stop.is_set():
                ticket = Ticket.objects.get(pk=rng.choice(ids))
                severity = Severity.S2 if ticket.severity != Severity.S2 else Severity.S3
                ticket_severity_set(ticket=ticket, severity=severity)
                self.writes += 1
                next_at += 1 / self.rate
                self._stop.wait(max(0.0, next_at - clock.monotonic()))
        finally:
            connection.close()


def measure_page(
    port: int,
    server: subprocess.Popen,
    name: str,
    target: dict[str, str],
    connections: int,
    seconds: float,
    write_rate: float,
) -> dict[str, Any]:
    """Warm the page up, then load it with ``connections`` (and ``write_rate`` ticket
    changes a second) and with 1 connection."""
    check_page(port, name, target)
    wrk(port, target, connections, 2)  # warm-up: connections, caches, query plans
    workers, backends = server_pids(server)
    load1 = os.getloadavg()[0]
    busy0, total0 = _machine_busy()
    python0, pg0 = _cpu_seconds(workers), _cpu_seconds(backends)
    with Writer(write_rate) as writer:
        loaded = wrk(port, target, connections, seconds)
    python, pg = _cpu_seconds(workers) - python0, _cpu_seconds(backends) - pg0
    cpu = python + pg
    busy1, total1 = _machine_busy()
    check_page(port, name, target)
    single = wrk(port, target, 1, max(seconds // 2, 2))
    check_page(port, name, target)
    machine_busy = (busy1 - busy0) / max(total1 - total0, 1) * (os.cpu_count() or 1)
    return {
        "c32" if connections == 32 else f"c{connections}": loaded,
        "c1": single,
        "server_cpu_ms_per_request": round(cpu * 1000 / max(loaded["requests"], 1), 2),
        "gunicorn_cpu_ms_per_request": round(python * 1000 / max(loaded["requests"], 1), 2),
        "postgres_cpu_ms_per_request": round(pg * 1000 / max(loaded["requests"], 1), 2),
        # Cores busy during the load, of which the server (gunicorn + its backends) used
        # server_cores; the rest is wrk, PostgreSQL's own housekeeping and other jobs.
        "machine_cores_busy": round(machine_busy, 2),
        "server_cores": round(cpu / seconds, 2),
        "load_average_before": round(load1, 2),
        "writes_per_second": round(writer.writes / seconds, 1),
    }


def _median(rows: list[dict[str, Any]], *keys: str) -> float:
    values = []
    for row in rows:
        for key in keys:
            row = row[key]
        values.append(row)
    return round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the data")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per page and run")
    parser.add_argument("--runs", type=int, default=3, help="rounds; the table shows medians")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=4, help="gthread only")
    parser.add_argument("--pages", default="portal,api,admin")
    parser.add_argument("--modes", default=",".join(MODES), help=f"of {', '.join(MODES)}")
    parser.add_argument(
        "--write-rate", type=float, default=2.0, help="ticket changes a second (+writes mode)"
    )
    parser.add_argument("--port", type=int, default=18431)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk (Debian's wrk 4.1.0).")
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        sys.exit(f"unknown mode(s) {', '.join(sorted(unknown))}: use {', '.join(MODES)}")

    setup_django()
    from django.conf import settings

    if any(MODES[m][0] for m in modes) and not settings.SUPPORTDESK_LIST_CACHE_SECONDS:
        sys.exit("The cached modes need the list cache: set REDIS_URL (or CACHE_URL).")
    filled = fill(args.rebuild)
    from webcache.list_cache import lists_changed

    lists_changed()  # the fill wrote by SQL: no page cached before it may be replayed
    targets = {k: v for k, v in credentials().items() if k in args.pages.split(",")}
    from django.db import connections

    connections.close_all()
    runs: list[dict[str, Any]] = []
    for run in range(args.runs):
        rows: dict[str, Any] = {}
        for mode in modes:
            cache_on, rate = MODES[mode]
            rate = args.write_rate if rate is None else rate
            server = start_server(
                args.port, args.worker_class, args.workers, args.threads, cache_on
            )
            try:
                for name, target in targets.items():
                    rows[f"{name} {mode}"] = measure_page(
                        args.port, server, name, target, args.connections, args.seconds, rate
                    )
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        runs.append(rows)
        print(f"run {run + 1}/{args.runs}: " + json.dumps(rows))

    loaded = "c32" if args.connections == 32 else f"c{args.connections}"
    summary: dict[str, Any] = {}
    for key in runs[0]:
        page = [r[key] for r in runs]
        summary[key] = {
            loaded: {k: _median(page, loaded, k) for k in ("p50_ms", "p95_ms", "rps")},
            "c1": {k: _median(page, "c1", k) for k in ("p50_ms", "p95_ms", "rps")},
            "errors": sum(r[loaded]["errors"] + r["c1"]["errors"] for r in page),
            "server_cpu_ms_per_request": _median(page, "server_cpu_ms_per_request"),
            "gunicorn_cpu_ms_per_request": _median(page, "gunicorn_cpu_ms_per_request"),
            "wrk_cpu_ms_per_request": _median(page, loaded, "wrk_cpu_ms_per_request"),
            "postgres_cpu_ms_per_request": _median(page, "postgres_cpu_ms_per_request"),
            "server_cores": _median(page, "server_cores"),
            "machine_cores_busy": _median(page, "machine_cores_busy"),
            "load_average_before": _median(page, "load_average_before"),
            "writes_per_second": _median(page, "writes_per_second"),
        }
    server_kind = f"{args.worker_class} {args.workers}" + (
        f"x{args.threads}" if args.worker_class == "gthread" else ""
    )
    print(
        f"{TICKETS:,} tickets, gunicorn {server_kind}, wrk, {args.seconds:g} s per load, "
        f"medians of {args.runs} runs"
    )
    print(
        f"| page, mode | {args.connections} conns p50 / p95 ms | req/s | 1 conn p50 / p95 ms "
        "| CPU ms/req gunicorn + PostgreSQL | writes/s | server / busy cores "
        "| target p95 | met |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for key, row in summary.items():
        target = TARGETS_MS[key.split()[0]]
        met = "yes" if row[loaded]["p95_ms"] < target and not row["errors"] else "no"
        print(
            f"| {key} | {row[loaded]['p50_ms']} / {row[loaded]['p95_ms']} | "
            f"{row[loaded]['rps']} | {row['c1']['p50_ms']} / {row['c1']['p95_ms']} | "
            f"{row['gunicorn_cpu_ms_per_request']} + {row['postgres_cpu_ms_per_request']} | "
            f"{row['writes_per_second']} | "
            f"{row['server_cores']} / {row['machine_cores_busy']} | < {target} | {met} |"
        )
    out = ROOT / "bench" / "results" / "web.json"
    out.write_text(
        json.dumps(
            {
                "tickets": TICKETS,
                "connections": args.connections,
                "load_generator": "wrk 4.1.0, 1 thread, closed loop",
                "gunicorn": {
                    "worker_class": args.worker_class,
                    "workers": args.workers,
                    "threads": args.threads if args.worker_class == "gthread" else 1,
                },
                "modes": {m: {"list_cache": MODES[m][0]} for m in modes},
                "write_rate": args.write_rate,
                "seconds_per_load": args.seconds,
                "runs": args.runs,
                "fill_seconds": round(filled, 1),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "medians": summary,
                "per_run": runs,
                "targets_p95_ms": TARGETS_MS,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
