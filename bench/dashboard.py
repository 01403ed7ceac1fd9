"""Benchmark the leads' dashboard and report on PostgreSQL: a desk with 1,000,000 tickets
over two years.

Run from the repository root (the same database as bench/search.py serves: its tickets
and messages are reused, or made with the same generator):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_search_bench \\
        .venv/bin/python bench/dashboard.py [--tickets 1000000] [--runs 30] [--report-runs 10]
        [--rebuild] [--drop]

On top of the tickets and messages (agents' replies among them) it writes, by INSERT …
SELECT, what the figures read besides: SLA clocks (first response due in 8 hours and
answered within 0–12 hours, resolution due in 3 days; those late are breached), duplicate
flags on 2% of the tickets, 1% merged as the customer's clones, and satisfaction ratings
on a fifth of the solved tickets. Then ``reports.facts.facts_rebuild_all`` builds every
ticket's facts and the daily rollups (timed: what an upgraded desk runs once), and the
pages are rendered through Django's test client as a lead: the dashboard (the last eight
weeks) of the support line that holds all 1,000,000 tickets, of the whole desk and of
one department, and the line's report over the two years (page and CSV).
Prints p50/p95 per page and writes bench/results/dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pgdb import (  # bench/ is the script folder: sys.path[0]
    backend_cpu_ms,
    create_database,
    drop_database_now,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "dashboard.json"


def log(text: str) -> None:
    print(text, flush=True)


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<bench database>: this bench is about PostgreSQL.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["SUPPORTDESK_CELERY_QUEUE"] = "bench-dashboard"
    import django

    django.setup()


def sql(cursor, name: str, *statements: str) -> float:
    started = time.perf_counter()
    for statement in statements:
        cursor.execute(statement)
    took = round(time.perf_counter() - started, 1)
    log(f"  {name}: {took} s")
    return took


def prepare(tickets: int, rebuild: bool) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from reports.models import TicketFact

    call_command("migrate", verbosity=0)
    timings: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")
        have = cursor.fetchone()[0]
    if have < tickets:
        from search_data import fill

        log(f"filling {tickets} tickets and their messages …")
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE search_entry, tickets_message, tickets_ticketevent, tickets_ticket, "
                "tickets_contactphone, tickets_contactemail, tickets_contact, tickets_account "
                "CASCADE"
            )
            cursor.execute("DELETE FROM auth_user WHERE username LIKE 'bench-agent-%%'")
        raw = connection.connection.cursor()
        timings["tickets_and_messages"] = fill(raw, tickets=tickets, log=log)
        connection.connection.commit()
    if TicketFact.objects.count() >= tickets and not rebuild:
        log("reusing the facts and rollups (--rebuild builds them again)")
        return timings
    log("SLA clocks, duplicates, merges and ratings …")
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE sla_ticketsla, duplicates_duplicateflag, csat_survey, "
            "reports_ticketfact, reports_dailyfigure"
        )
        timings["sla"] = sql(
            cursor,
            "SLA clocks",
            "INSERT INTO sla_ticketsla (ticket_id, started_at, first_response_due, "
            "first_response_at, first_response_state, first_response_seconds, "
            "next_response_state, resolution_due, resolution_at, resolution_state, paused, "
            "first_response_breached, next_response_breached, resolution_breached, "
            "explanation, computed_at) "
            "SELECT t.id, t.created_at, t.created_at + interval '8 hours', r.fr, 'met', "
            "(extract(epoch FROM r.fr - t.created_at) * 0.6)::int, 'none', "
            "t.created_at + interval '3 days', t.solved_at, "
            "CASE WHEN t.solved_at IS NULL THEN 'running' ELSE 'met' END, false, "
            "r.fr > t.created_at + interval '8 hours', false, "
            "coalesce(t.solved_at > t.created_at + interval '3 days', false), '{}', now() "
            "FROM tickets_ticket t CROSS JOIN LATERAL (SELECT t.created_at + "
            "(random() * 12) * interval '1 hour' AS fr) r",
        )
        timings["duplicates"] = sql(
            cursor,
            "duplicate flags and merges",
            "INSERT INTO duplicates_duplicateflag (ticket_id, candidate_id, score, reasons, "
            "status, auto_merged, created_at, updated_at) SELECT t.id, t.id - 1, 0.8, '[]', "
            "'suggested', false, t.created_at + interval '5 minutes', t.created_at "
            "FROM tickets_ticket t WHERE t.id % 50 = 7",
            "UPDATE tickets_ticket SET status = 'merged', merged_into_id = id - 1, "
            "cloned_by_customer = true WHERE id % 100 = 7",
            "INSERT INTO tickets_ticketevent (ticket_id, kind, data, created_at) "
            "SELECT id, 'merged', jsonb_build_object('target', id - 1), created_at + "
            "interval '10 minutes' FROM tickets_ticket WHERE id % 100 = 7",
        )
        timings["csat"] = sql(
            cursor,
            "satisfaction ratings",
            "INSERT INTO tickets_ticketevent (ticket_id, kind, data, created_at) "
            "SELECT id, 'status_changed', '{\"status\": \"solved\"}', solved_at "
            "FROM tickets_ticket WHERE solved_at IS NOT NULL AND id % 5 = 1",
            "INSERT INTO csat_survey (ticket_id, solve_event_id, contact_id, email, language, "
            "created_at, rating, comment, rated_at, rated_via) "
            "SELECT e.ticket_id, e.id, t.contact_id, '', 'en', e.created_at, "
            "1 + (e.id * 7) % 5, '', e.created_at + interval '1 hour', 'email' "
            "FROM tickets_ticketevent e JOIN tickets_ticket t ON t.id = e.ticket_id "
            "WHERE e.kind = 'status_changed'",
            "ANALYZE",
        )
    from reports.facts import facts_rebuild_all

    log("building every ticket's facts and the daily rollups …")
    started = time.perf_counter()
    count = facts_rebuild_all()
    took = time.perf_counter() - started
    timings["facts_rebuild_all_seconds"] = round(took, 1)
    timings["facts_per_second"] = round(count / took)
    log(f"  {count} tickets in {took:.0f} s ({count / took:.0f}/s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return timings


def lead_client():
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tests.factories import AgentFactory

    user = AgentFactory(username="bench-lead", is_staff=True)
    for codename in ("view_ticket", "view_dashboard"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def measure(client, url: str, runs: int) -> dict[str, Any]:
    timings = []
    for _ in range(2):  # the first two warm the caches
        assert client.get(url).status_code == 200, url
    cpu0, db0 = time.process_time(), backend_cpu_ms()
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    app_cpu = (time.process_time() - cpu0) * 1000 / runs
    db1 = backend_cpu_ms()
    db_cpu = (db1 - db0) / runs if db0 is not None and db1 is not None else None
    timings = sorted(timings)
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return {
        "url": url,
        "runs": runs,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(p95, 1),
        "app_cpu_ms": round(app_cpu, 1),
        "db_cpu_ms": round(db_cpu, 1) if db_cpu is not None else None,
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--report-runs", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    create_database(os.environ.get("DATABASE_URL", ""))
    setup_django()
    fill = prepare(args.tickets, args.rebuild)

    from django.conf import settings
    from django.utils import timezone

    from reports.models import DailyFigure
    from tickets.models import Department, SupportLine, Ticket

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    client = lead_client()
    line = SupportLine.objects.get(is_default=True)
    department = Department.objects.filter(line=line).order_by("pk").first()
    today = timezone.now().date()
    two_years = f"first={today - timedelta(days=729)}&last={today}&scope=line:{line.pk}"
    pages = {  # label: (url, runs); the reports are not a target of issue 14: fewer runs
        f"dashboard, line {line.name}": (f"/desk/reports/?scope=line:{line.pk}", args.runs),
        "dashboard, whole desk": ("/desk/reports/", args.runs),
        f"dashboard, department {department.name}": (
            f"/desk/reports/?scope=department:{department.pk}",
            args.runs,
        ),
        "report, two years, the line": (f"/desk/reports/report/?{two_years}", args.report_runs),
        "report CSV, two years": (
            f"/desk/reports/report/?{two_years}&format=csv",
            args.report_runs,
        ),
    }
    rows = []
    for label, (url, runs) in pages.items():
        row = {"page": label, **measure(client, url, runs)}
        rows.append(row)
        log(
            f"{label}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, CPU per page "
            f"{row['app_cpu_ms']} ms app + {row['db_cpu_ms']} ms database"
        )
    data = {
        "tickets": Ticket.objects.count(),
        "daily_figure_rows": DailyFigure.objects.count(),
    }
    print()
    print(f"{'page':<52} {'p50 ms':>8} {'p95 ms':>8} {'app cpu':>8} {'db cpu':>8}")
    for row in rows:
        print(
            f"{row['page']:<52} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['app_cpu_ms']:>8} {row['db_cpu_ms']!s:>8}"
        )
    print(f"load average at the end: {os.getloadavg()}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M"),
                "machine": f"{platform.machine()} {os.cpu_count()} cpu, python "
                f"{platform.python_version()}",
                "data": data,
                "fill": fill,
                "pages": rows,
                "load_average": os.getloadavg(),
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    if args.drop:
        drop_database_now()
        log("database dropped")


if __name__ == "__main__":
    main()
