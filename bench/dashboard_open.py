"""What is open now, for the dashboards (issue 14): counted from every open ticket's fact
(``reports.TicketFact``, as the dashboard did until the open figures) against the open
figures (``reports.OpenFigure``), at 1,000,000 tickets' facts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_open_bench \\
        .venv/bin/python bench/dashboard_open.py [--tickets 1000000] [--runs 30]

A throwaway database: migrated, then filled by one INSERT … SELECT generate_series with
facts alone (the foreign key to the tickets dropped: this bench reads facts, never
tickets) shaped like bench/dashboard.py's desk: one ticket every ~63 s over two years,
one line, two departments, 50 agents, the last 14 days open (new, open, pending
customer, on hold), 1% excluded. The open figures are then counted from the facts
(``open_recount``). Both ways answer the line's backlog by status and age and its load
per agent; the answers are compared (they must be equal), and each way is timed ``--runs``
times after 2 warm-ups. Prints p50/p95 and writes bench/results/dashboard_open.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgdb import create_database  # bench/ is the script folder: sys.path[0]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "dashboard_open.json"


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<throwaway database>.")
    create_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def fill(tickets: int) -> float:
    from django.core.management import call_command
    from django.db import connection

    from reports.facts import open_recount

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reports_ticketfact")
        if cursor.fetchone()[0] >= tickets:
            return 0.0
        cursor.execute("TRUNCATE reports_ticketfact")
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'reports_ticketfact'::regclass "
            "AND contype = 'f'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE reports_ticketfact DROP CONSTRAINT "{name}"')
        # Ticket i was created i × 63 s after the start; the newest 14 days are open.
        cursor.execute(
            "INSERT INTO reports_ticketfact (ticket_id, line_id, department_id, status, "
            "assignee_id, created_at, excluded, last_day, contributions) "
            "SELECT i, 1, 1 + i %% 2, CASE WHEN now() - c < interval '14 days' THEN "
            "(ARRAY['new','open','pending_customer','on_hold'])[1 + (i / 7) %% 4] "
            "ELSE 'solved' END, CASE WHEN i %% 5 = 0 THEN 0 ELSE 1 + i %% 50 END, c, "
            "i %% 100 = 0, c::date, '[]'::jsonb FROM (SELECT i, now() - (%s - i) * "
            "interval '63 seconds' AS c FROM generate_series(1, %s) i) s",
            [tickets, tickets],
        )
        cursor.execute("ANALYZE reports_ticketfact")
    open_recount()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_openfigure")
    return round(time.perf_counter() - started, 1)


def by_facts(line_id: int, now: datetime) -> tuple[dict, dict]:
    """The dashboard's reads before the open figures: counts over the open facts."""
    from django.db.models import Count, Q

    from reports.figures import AGE_BUCKETS
    from reports.models import UNSOLVED, TicketFact

    aggregates = {}
    lower = 0
    for key, upper in AGE_BUCKETS:
        condition = Q()
        if lower:
            condition &= Q(created_at__lte=now - timedelta(days=lower))
        if upper:
            condition &= Q(created_at__gt=now - timedelta(days=upper))
        aggregates[key] = Count("pk", filter=condition)
        lower = upper or 0
    counts = {s: dict.fromkeys((k for k, _ in AGE_BUCKETS), 0) for s in UNSOLVED}
    open_facts = TicketFact.objects.filter(line_id=line_id, status__in=UNSOLVED, excluded=False)
    for row in open_facts.values("status").annotate(**aggregates).order_by():
        counts[row["status"]] = {k: row[k] for k, _ in AGE_BUCKETS}
    load = dict(
        open_facts.exclude(assignee_id=0)
        .values_list("assignee_id")
        .annotate(total=Count("pk"))
        .order_by()
    )
    return counts, load


def by_figures(line_id: int, now: datetime) -> tuple[dict, dict]:
    from django.db.models import Q

    from reports.figures import AGE_BUCKETS
    from reports.open_now import open_by_status_and_age, open_per_assignee

    scope = Q(line_id=line_id)
    return open_by_status_and_age(scope, now, AGE_BUCKETS), open_per_assignee(scope)


def timed(function, runs: int) -> dict[str, float]:
    from django.utils import timezone

    for _ in range(2):
        function(1, timezone.now())
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        function(1, timezone.now())
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return {
        "p50_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[min(len(took) - 1, round(0.95 * (len(took) - 1)))], 2),
    }


def server_ms(function, runs: int) -> dict[str, float]:
    """The database's own time for ``function``'s queries (EXPLAIN ANALYZE's execution
    time, summed): on a crowded machine, the wall time is mostly waiting for a core."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    with CaptureQueriesContext(connection) as captured:
        function(1, timezone.now())
    statements = [q["sql"] for q in captured]
    took = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            total = 0.0
            for statement in statements:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement)
                total += cursor.fetchone()[0][0]["Execution Time"]
            took.append(total)
    took.sort()
    return {
        "queries": len(statements),
        "p50_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[min(len(took) - 1, round(0.95 * (len(took) - 1)))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    setup_django()
    from django.utils import timezone

    from reports.models import OpenFigure, TicketFact

    fill_seconds = fill(args.tickets)
    now = timezone.now()
    same = by_facts(1, now) == by_figures(1, now)
    load_before = [round(x, 2) for x in os.getloadavg()]
    facts = timed(by_facts, args.runs)
    figures = timed(by_figures, args.runs)
    facts_server = server_ms(by_facts, args.runs)
    figures_server = server_ms(by_figures, args.runs)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "facts": TicketFact.objects.count(),
        "open_facts": TicketFact.objects.filter(
            status__in=["new", "open", "pending_customer", "on_hold"], excluded=False
        ).count(),
        "open_figure_rows": OpenFigure.objects.count(),
        "fill_seconds": fill_seconds,
        "same_answer": same,
        "from_facts": facts,
        "from_open_figures": figures,
        "database_time_from_facts": facts_server,
        "database_time_from_open_figures": figures_server,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print()
    print("| open now (backlog + load) | queries | wall p50 / p95 ms | database p50 / p95 ms |")
    print("|---|---:|---:|---:|")
    for label, wall, server in (
        ("from the open tickets' facts (before)", facts, facts_server),
        ("from the open figures (now)", figures, figures_server),
    ):
        print(
            f"| {label} | {server['queries']} | {wall['p50_ms']} / {wall['p95_ms']} "
            f"| {server['p50_ms']} / {server['p95_ms']} |"
        )
    if not same:
        sys.exit("the two ways disagree")


if __name__ == "__main__":
    main()
