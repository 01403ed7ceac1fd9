"""Benchmark p95 latency of the portal, API and admin ticket lists with 100,000 tickets.

Run from the repository root against a PostgreSQL server you may create a database on:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_web_bench .venv/bin/python bench/web.py

The database is created if missing, migrated and filled once (re-runs reuse it; --rebuild
starts over) by INSERT … SELECT generate_series: 1,000 reseller accounts, each with one
verified owner contact, and 100,000 tickets with one message each (100 per account).
Then gunicorn (gthread workers) serves the app and 32 client connections (processes x
threads, keep-alive) request each page for --seconds; latency is measured at the client,
so it includes queueing. Targets (issue 5): API and portal p95 < 50 ms, admin p95 < 150 ms.

* portal: ``/portal/tickets/`` for an account owner (the account's 100 tickets);
* api: ``/api/v1/tickets/`` (first cursor page of 50, most recently updated first);
* admin: ``/admin/tickets/ticket/`` as a superuser (100 rows per page, with the count).

Writes bench/results/web.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time as clock
from concurrent.futures import ProcessPoolExecutor
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
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

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
    return {
        "portal": {"path": "/portal/tickets/", "Cookie": f"sessionid={portal.session_key}"},
        "api": {"path": "/api/v1/tickets/", "Authorization": f"Token {token}"},
        "admin": {"path": "/admin/tickets/ticket/", "Cookie": f"sessionid={admin.session_key}"},
    }


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "supportdesk.wsgi",
            "-k",
            "gthread",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
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


def _client(args: tuple[int, dict[str, str], int, float]) -> tuple[list[float], int]:
    port, target, threads, seconds = args
    headers = {k: v for k, v in target.items() if k != "path"}
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = clock.monotonic() + seconds

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while clock.monotonic() < stop:
            began = clock.perf_counter()
            try:
                conn.request("GET", target["path"], headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                mine.append((clock.perf_counter() - began) * 1000)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, errors[0]


def load(port: int, target: dict[str, str], connections: int, seconds: float) -> dict[str, Any]:
    processes = 4
    per = [connections // processes + (i < connections % processes) for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        _client((port, target, 2, 2.0))  # warm-up: connections, caches, query plans
        results = list(pool.map(_client, [(port, target, n, seconds) for n in per]))
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    if not latencies:
        return {"requests": 0, "errors": errors}
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the data")
    parser.add_argument("--seconds", type=float, default=15.0, help="load per page")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=18431)
    args = parser.parse_args()

    setup_django()
    filled = fill(args.rebuild)
    targets = credentials()
    from django.db import connections

    connections.close_all()
    server = start_server(args.port, args.workers, args.threads)
    try:
        rows = {
            name: load(args.port, target, args.connections, args.seconds)
            for name, target in targets.items()
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    print(
        f"{TICKETS:,} tickets, {args.connections} connections, gunicorn gthread "
        f"{args.workers}x{args.threads}, {args.seconds:.0f} s per page"
    )
    print("| page | p50 ms | p95 ms | p99 ms | req/s | target p95 | met |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, row in rows.items():
        met = "yes" if row.get("p95_ms", 1e9) < TARGETS_MS[name] else "no"
        print(
            f"| {name} | {row.get('p50_ms')} | {row.get('p95_ms')} | {row.get('p99_ms')} | "
            f"{row.get('rps')} | < {TARGETS_MS[name]} | {met} |"
        )
    out = ROOT / "bench" / "results" / "web.json"
    out.write_text(
        json.dumps(
            {
                "tickets": TICKETS,
                "connections": args.connections,
                "gunicorn": {
                    "worker_class": "gthread",
                    "workers": args.workers,
                    "threads": args.threads,
                },
                "seconds_per_page": args.seconds,
                "fill_seconds": round(filled, 1),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "results": rows,
                "targets_p95_ms": TARGETS_MS,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
