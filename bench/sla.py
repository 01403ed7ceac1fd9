"""Benchmark the SLA beat scan over 1,000,000 tickets (100,000 open) on PostgreSQL.

Run from the repository root against a PostgreSQL server you may create a database on:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_sla_bench .venv/bin/python bench/sla.py

The database named in DATABASE_URL is created if missing, migrated, and filled once with
synthetic rows by INSERT … SELECT generate_series (re-runs reuse them; --rebuild starts
over): 1,000,000 tickets and their `TicketSla` rows, 900,000 of them closed
(`next_check_at` NULL) and 100,000 open with a pending check spread over the next 30
days. The figures are medians of several runs of `sla.scan.scan_deadlines`:

* a quiet minute: nothing due (the index answers with no row); 100,000 open tickets
  with checks spread over 30 days bring 2-3 a minute on average;
* a busy minute: 50 tickets due at once, each recorded as a breach, notified (locmem
  mail backend) and recomputed from its history.

Writes bench/results/sla.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time as clock
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pgdb import create_database  # bench/ is the script folder: sys.path[0]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOTAL, OPEN = 1_000_000, 100_000
BUSY = 50
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the scans' frozen "now"


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<bench database>: this bench is about PostgreSQL.")
    create_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()


def fill(rebuild: bool) -> float:
    """Insert the synthetic tickets and SLA rows once; return the seconds it took."""
    from django.core.management import call_command
    from django.db import connection

    from sla.models import TicketSla
    from tickets.models import Department, Ticket

    call_command("migrate", verbosity=0)
    if TicketSla.objects.count() == TOTAL and not rebuild:
        return 0.0
    with connection.cursor() as cur:  # a partial fill from an interrupted run goes too
        cur.execute("TRUNCATE sla_slaalert, sla_ticketsla, tickets_ticket CASCADE")
    began = clock.perf_counter()
    department = Department.objects.get(slug="customer-support")
    # One ticket through the ORM supplies every column's default; SQL copies it a million
    # times, so columns other apps add later are filled too.
    template = Ticket.objects.create(
        number=10**9,
        subject="Synthetic ticket",
        department=department,
        origin_channel="email",
        status="closed",
        created_at=NOW,
        updated_at=NOW,
    )
    columns = [f.column for f in Ticket._meta.concrete_fields if f.column != "id"]
    override = {
        "number": "t.number + g",
        "status": f"CASE WHEN g <= {OPEN} THEN 'open' ELSE 'closed' END",
        "created_at": "%(now)s - (g * interval '41 seconds')",
        "updated_at": "%(now)s - (g * interval '41 seconds')",
    }
    select = ", ".join(override.get(c, f"t.{c}") for c in columns)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO tickets_ticket ({', '.join(columns)}) "  # noqa: S608 - our columns
            f"SELECT {select} FROM tickets_ticket t, generate_series(1, %(total)s) g "
            "WHERE t.id = %(template)s",
            {"now": NOW, "total": TOTAL, "template": template.pk},
        )
        # Raw SQL: the ORM's cascade would visit every app's tables, migrated or not.
        cur.execute("DELETE FROM tickets_ticket WHERE id = %s", [template.pk])
        # Open tickets: a check pending somewhere in the next 30 days (the first BUSY of
        # them at NOW, due); closed ones: nothing pending, so NULL.
        cur.execute(
            """
            INSERT INTO sla_ticketsla (
                ticket_id, started_at, first_response_state, next_response_state,
                resolution_state, paused, first_response_breached, next_response_breached,
                resolution_breached, first_response_due, next_check_at, explanation,
                computed_at)
            SELECT id, created_at,
                CASE WHEN status = 'open' THEN 'running' ELSE 'met' END, 'none', 'none',
                false, false, false, false, due, CASE WHEN status = 'open' THEN due END,
                CASE WHEN status = 'open' THEN jsonb_build_object('targets', jsonb_build_object(
                    'first_response', jsonb_build_object(
                        'state', 'running', 'target', '1 business hours',
                        'due', to_char(due AT TIME ZONE 'UTC',
                                       'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'))))
                ELSE '{}'::jsonb END,
                %(now)s
            FROM (
                SELECT id, status, created_at,
                    CASE WHEN number - 1000000000 <= %(busy)s
                         THEN %(now)s - interval '1 minute'
                         ELSE %(now)s + ((number * 7919) %% 2592000) * interval '1 second'
                    END AS due
                FROM tickets_ticket
            ) s
            """,
            {"now": NOW, "busy": BUSY},
        )
        cur.execute("ANALYZE tickets_ticket; ANALYZE sla_ticketsla")
    return clock.perf_counter() - began


def time_scan(now: datetime, runs: int, reset: bool) -> tuple[float, int]:
    """Return the median milliseconds of a scan at `now` and the tickets it checked."""
    from sla.scan import scan_deadlines

    samples, checked = [], 0
    for _ in range(runs):
        if reset:
            _reset_busy()
        began = clock.perf_counter()
        result = scan_deadlines(now=now, batch_size=1000)
        samples.append((clock.perf_counter() - began) * 1000)
        checked = result.checked
    return statistics.median(samples), checked


def _reset_busy() -> None:
    """Put the busy minute back: the previous run raised its breaches and recomputed."""
    from django.db import connection

    from sla.models import SlaAlert

    SlaAlert.objects.all().delete()
    due = NOW - timedelta(minutes=1)
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE sla_ticketsla s SET first_response_due = %(due)s, next_check_at = %(due)s,
                first_response_state = 'running', first_response_breached = false,
                breached_at = NULL,
                explanation = jsonb_build_object('targets', jsonb_build_object(
                    'first_response', jsonb_build_object(
                        'state', 'running', 'target', '1 business hours',
                        'due', %(due_iso)s)))
            FROM tickets_ticket t
            WHERE t.id = s.ticket_id AND t.number - 1000000000 <= %(busy)s
            """,
            {"due": due, "due_iso": due.isoformat(), "busy": BUSY},
        )


def plan(now: datetime) -> str:
    from django.db import connection

    from sla.models import TicketSla

    sql, params = (
        TicketSla.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")[:1000]
        .query.sql_with_params()
    )
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", params)
        return "\n".join(row[0] for row in cur.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="refill the synthetic rows")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/sla.json")
    args = parser.parse_args()
    setup_django()

    from sla.models import TicketSla

    fill_s = fill(args.rebuild)
    open_count = TicketSla.objects.filter(next_check_at__isnull=False).count()
    total = TicketSla.objects.count()
    quiet_ms, quiet_checked = time_scan(NOW - timedelta(hours=1), args.runs, reset=False)
    busy_ms, busy_checked = time_scan(NOW, args.runs, reset=True)
    rows: list[dict[str, Any]] = [
        {"scan": "quiet minute (nothing due)", "checked": quiet_checked, "ms": round(quiet_ms, 2)},
        {
            "scan": f"busy minute ({BUSY} breaches raised)",
            "checked": busy_checked,
            "ms": round(busy_ms, 2),
        },
    ]
    _reset_busy()
    explain = plan(NOW)

    print(f"tickets: {total:,} ({open_count:,} with a pending check); fill took {fill_s:.1f} s")
    print("| scan | tickets checked | median ms |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| {row['scan']} | {row['checked']} | {row['ms']:,.2f} |")
    print(explain)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "sla",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "tickets": total,
                "open_with_pending_check": open_count,
                "runs": args.runs,
                "scans": rows,
                "plan": explain.splitlines(),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
