"""Benchmark the search box on PostgreSQL: 1,000,000 tickets and 5,000,000 messages, 8
concurrent searches, while messages keep being written through the services.

Run from the repository root against a PostgreSQL server you may create a database on
(its own instance: the load and the indexes take ~10 GB and ~30 minutes on 2 cores):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_search_bench \\
    REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python bench/search.py \\
        [--tickets 1000000] [--concurrency 8] [--seconds 120] [--writes 20] [--drop]

The database is created, migrated and filled once (``bench/search_data.py``: INSERT …
SELECT in the server, never the ORM row by row); re-runs reuse it, ``--rebuild`` refills
and ``--drop`` drops it at the end. Queries come from the data itself, in three kinds:

* words: a very common word, a word of the long tail, a rare one (a few messages),
  a three-word phrase cut from a message, a Russian word in another form;
* identifiers: ticket numbers, reseller IDs (all digits), contact addresses, domains,
  order codes written in messages;
* phone numbers: contacts' numbers written "8 (495) 123-45-67" or "+31 20 123 4567",
  numbers quoted in messages in another notation, and the last seven digits.

Each of ``--concurrency`` processes runs the whole selector (``ticket_search``: every
reading, ranking, snippets) in a loop; one more process writes ``--writes`` messages a
second through ``tickets.services.message_add`` (the search entry in the same
transaction; the rest of the write path as in production) and checks that each is found
by its unique word right after its commit. Prints a table (p50/p95 per kind) and writes
bench/results/search.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from pgdb import (  # bench/ is the script folder: sys.path[0]
    backend_cpu_ms,
    create_database,
    drop_database_now,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "search.json"


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<bench database>: this bench is about PostgreSQL.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ["SUPPORTDESK_CELERY_QUEUE"] = "bench-search"  # follow-up tasks wait there
    import django

    django.setup()


def log(text: str) -> None:
    print(text, flush=True)


def prepare(tickets: int, rebuild: bool) -> dict[str, Any]:
    """Migrate and fill the database once; return what the fill took."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")
        have = cursor.fetchone()[0]
    if have >= tickets and not rebuild:
        log(f"reusing {have} tickets (--rebuild fills again)")
        from search.words import words_refresh

        words_refresh(chunk=200_000, max_chunks=1000)  # the rest of an interrupted fill's
        return {}
    from search_data import fill

    log(f"filling {tickets} tickets …")
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE search_entry, search_word, tickets_message, tickets_ticketevent, "
            "tickets_ticket_tags, tickets_ticket, tickets_contactphone, tickets_contactemail, "
            "tickets_contact, tickets_account CASCADE"
        )
        cursor.execute("DELETE FROM auth_user WHERE username LIKE 'bench-agent-%%'")
        cursor.execute("SET maintenance_work_mem = '1GB'")
    started = time.perf_counter()
    raw = connection.connection.cursor()
    timings = fill(raw, tickets=tickets, log=log)
    connection.connection.commit()
    timings["total"] = round(time.perf_counter() - started, 1)
    log(f"filled in {timings['total']} s")
    from search.words import words_refresh

    words_refresh(chunk=200_000, max_chunks=1000)
    return timings


def sample_queries(rng: random.Random, per_kind: int = 40) -> dict[str, list[tuple[str, str]]]:
    """Return (kind, query) samples per category, taken from the data."""
    from django.db import connection

    def rows(sql: str, params: list | None = None) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    from search_data import LANGUAGES

    words: list[tuple[str, str]] = []
    common = LANGUAGES["en"][2][:12]
    words += [("common word", w) for w in common]
    tail = rows(
        "SELECT word FROM search_word WHERE documents BETWEEN 200 AND 5000 "
        "ORDER BY md5(word) LIMIT %s",
        [per_kind],
    )
    words += [("long-tail word", w) for (w,) in tail]
    rare = rows(
        "SELECT substring(body_text from ' (zq[0-9]+x)') FROM tickets_message "
        "WHERE id IN (SELECT (random() * (SELECT max(id) FROM tickets_message))::bigint "
        "FROM generate_series(1, 400)) AND body_text LIKE '%% zq%%' LIMIT %s",
        [per_kind],
    )
    words += [("rare word", w) for (w,) in rare if w]
    bodies = rows(
        "SELECT body_text FROM tickets_message WHERE id IN (SELECT (random() * "
        "(SELECT max(id) FROM tickets_message))::bigint FROM generate_series(1, %s))",
        [per_kind],
    )
    for (body,) in bodies:
        parts = body.split()
        if len(parts) > 6:
            start = rng.randint(0, len(parts) - 4)
            words.append(("phrase", " ".join(parts[start : start + 3])))
    words += [("russian form", w) for w in ("оплаты", "домена", "ошибки", "сертификата")]

    identifiers: list[tuple[str, str]] = []
    numbers = rows("SELECT number FROM tickets_ticket ORDER BY random() LIMIT %s", [per_kind])
    identifiers += [("ticket number", rng.choice(["SD-", "#", ""]) + str(n)) for (n,) in numbers]
    resellers = rows(
        "SELECT reseller_id FROM tickets_account WHERE reseller_id IS NOT NULL "
        "ORDER BY random() LIMIT %s",
        [per_kind],
    )
    identifiers += [("reseller ID", r) for (r,) in resellers]
    emails = rows("SELECT email FROM tickets_contactemail ORDER BY random() LIMIT %s", [per_kind])
    identifiers += [("email", e) for (e,) in emails]
    identifiers += [("domain", e.split("@")[1]) for (e,) in emails[: per_kind // 2]]
    codes = rows(
        "SELECT substring(body_text from '(INV-[0-9]{6})') FROM tickets_message WHERE id IN "
        "(SELECT (random() * (SELECT max(id) FROM tickets_message))::bigint "
        "FROM generate_series(1, 2000)) AND body_text LIKE '%%INV-%%' LIMIT %s",
        [per_kind],
    )
    identifiers += [("order code", c) for (c,) in codes if c]

    phones: list[tuple[str, str]] = []
    numbers = rows("SELECT number FROM tickets_contactphone ORDER BY random() LIMIT %s", [per_kind])
    for (e164,) in numbers:
        local = e164[-7:]
        if e164.startswith("+7495"):
            phones.append(("contact phone", f"8 (495) {local[:3]}-{local[3:5]}-{local[5:]}"))
        else:
            phones.append(("contact phone", f"+31 20 {local[:3]} {local[3:]}"))
        phones.append(("last 7 digits", local))
    quoted = rows(
        "SELECT substring(body_text from 'call me at (.*)$') FROM tickets_message WHERE id IN "
        "(SELECT (random() * (SELECT max(id) FROM tickets_message))::bigint "
        "FROM generate_series(1, 3000)) AND body_text LIKE '%%call me at%%' LIMIT %s",
        [per_kind],
    )
    for (text,) in quoted:
        if text:
            digits = "".join(ch for ch in text if ch.isdigit())
            # The same number in another notation than the message's.
            if digits.startswith("8495") or digits.startswith("7495"):
                phones.append(("number in a message", "+7" + digits[-10:]))
            else:
                phones.append(("number in a message", "0" + digits[-9:]))
    return {"words": words, "identifiers": identifiers, "phones": phones}


def queries_for(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """Return (group, kind, query) for every sampled query: read from ``--queries`` when
    that file exists (the same queries before and after a change), else sampled from the
    data (and written there when given)."""
    path = Path(args.queries) if args.queries else None
    if path is not None and path.exists():
        return [tuple(q) for q in json.loads(path.read_text())]  # type: ignore[misc]
    samples = sample_queries(random.Random(2026))
    queries = [(group, kind, q) for group, items in samples.items() for kind, q in items]
    if path is not None:
        path.write_text(json.dumps(queries, ensure_ascii=False) + "\n")
    return queries


def slowest(searches: list[tuple[str, str, str, float]], count: int = 15) -> list[dict[str, Any]]:
    """Return the ``count`` slowest searches (what the p95 is made of)."""
    ordered = sorted(searches, key=lambda s: -s[3])[:count]
    return [{"group": g, "kind": k, "query": q, "ms": round(ms, 1)} for g, k, q, ms in ordered]


def profile(
    queries: list[tuple[str, str, str]], rounds: int, timed: list[tuple[str, str, str, float]]
) -> list[dict[str, Any]]:
    """Run every query ``rounds`` times, one at a time, kind after kind; return per kind
    the CPU a search costs (this process + its database process) and the wall time.
    CPU is what 8 concurrent searches share 2 cores by: it does not depend on the load."""
    from django.db import connection

    from search.selectors import ticket_search

    executed = [0]

    def count(execute, sql, params, many, context):  # cheaper than the debug cursor
        executed[0] += 1
        return execute(sql, params, many, context)

    by_kind: dict[tuple[str, str], list[str]] = {}
    for group, kind, text in queries:
        by_kind.setdefault((group, kind), []).append(text)
    rows = []
    for (group, kind), texts in sorted(by_kind.items()):
        walls: list[float] = []
        cpu0, db0 = time.process_time(), backend_cpu_ms()
        with connection.execute_wrapper(count):
            for _ in range(rounds):
                for text in texts:
                    started = time.perf_counter()
                    ticket_search(text)
                    walls.append((time.perf_counter() - started) * 1000)
                    timed.append((group, kind, text, walls[-1]))
        statements, executed[0] = executed[0], 0
        app = (time.process_time() - cpu0) * 1000 / len(walls)
        db_after = backend_cpu_ms()
        db = (db_after - db0) / len(walls) if db0 is not None and db_after is not None else None
        rows.append(
            {
                "group": group,
                "kind": kind,
                "searches": len(walls),
                "queries_per_search": round(statements / len(walls), 1),
                "app_cpu_ms": round(app, 1),
                "db_cpu_ms": round(db, 1) if db is not None else None,
                "p50_ms": round(statistics.median(walls), 1),
                "p95_ms": round(pct(walls, 0.95), 1),
                "max_ms": round(max(walls), 1),
            }
        )
    return rows


def searcher(queries: list[tuple[str, str, str]], deadline: float, seed: int, out) -> None:
    """Run searches until ``deadline``; put (group, kind, query, ms, hits) on ``out``."""
    from django.db import connection

    from search.selectors import ticket_search

    rng = random.Random(seed)
    results: list[Any] = []
    ticket_search("warm")  # the connection opened before the clocks start
    from supportdesk.gc_freeze import freeze_startup_objects

    freeze_startup_objects()  # as a gunicorn worker does (supportdesk/wsgi.py)
    cpu0, db0 = time.process_time(), backend_cpu_ms()
    try:
        while time.time() < deadline:
            group, kind, text = rng.choice(queries)
            started = time.perf_counter()
            page = ticket_search(text)
            ms = (time.perf_counter() - started) * 1000
            results.append((group, kind, text, ms, page.total))
        db1 = backend_cpu_ms()
        db = db1 - db0 if db0 is not None and db1 is not None else None
        results.append(("cpu", (time.process_time() - cpu0) * 1000, db))
    finally:
        connection.close()
        out.put(results)


def writer(rate: float, deadline: float, out) -> None:
    """Write ``rate`` messages a second through the services; check each is found at once."""
    from django.db import connection

    from search.selectors import ticket_search
    from tickets.models import Status, Ticket
    from tickets.services import MessageIn, message_add

    live = list(
        Ticket.objects.exclude(status__in=[Status.CLOSED, Status.MERGED])
        .order_by("-pk")
        .values_list("pk", flat=True)[:2000]
    )
    from search.bands import pending_flush

    written, missed, write_ms = 0, 0, []
    rng = random.Random(7)
    flushed = float("-inf")  # as on a desk where beat has been running: lists start short
    try:
        while time.time() < deadline:
            tick = time.perf_counter()
            if time.monotonic() - flushed >= 60:  # what beat's search.pending does
                pending_flush()
                flushed = time.monotonic()
            ticket = Ticket.objects.get(pk=rng.choice(live))
            token = f"fresh{os.getpid()}n{written}"
            started = time.perf_counter()
            message_add(
                ticket=ticket,
                message=MessageIn(
                    channel="email",
                    body_text=f"The backup job failed again tonight, reference {token}.",
                ),
            )
            write_ms.append((time.perf_counter() - started) * 1000)
            written += 1
            if [h.ticket.pk for h in ticket_search(token).hits] != [ticket.pk]:
                missed += 1
            pause = 1 / rate - (time.perf_counter() - tick)
            if pause > 0:
                time.sleep(pause)
    finally:
        connection.close()
        out.put(("writer", written, missed, write_ms))


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, connections

    queries = queries_for(args)
    log(f"{len(queries)} queries sampled; warming up …")
    from search.selectors import ticket_search

    for _, _, text in queries:  # one pass, as a desk in use has its pages in memory
        ticket_search(text)
    connections.close_all()
    deadline = time.time() + args.seconds
    out: multiprocessing.Queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=searcher, args=(queries, deadline, i, out))
        for i in range(args.concurrency)
    ]
    if args.writes > 0:
        processes.append(multiprocessing.Process(target=writer, args=(args.writes, deadline, out)))
    for process in processes:
        process.start()
    collected = [out.get() for _ in processes]
    for process in processes:
        process.join()
    connection.close()
    searches = [r for chunk in collected if isinstance(chunk, list) for r in chunk if r[0] != "cpu"]
    cpu = [r for chunk in collected if isinstance(chunk, list) for r in chunk if r[0] == "cpu"]
    app_cpu = sum(r[1] for r in cpu) / max(len(searches), 1)
    db_cpu = (
        sum(r[2] for r in cpu) / max(len(searches), 1)
        if all(r[2] is not None for r in cpu)
        else None
    )
    writes = next((c for c in collected if isinstance(c, tuple)), ("writer", 0, 0, []))
    by_kind: dict[tuple[str, str], list[float]] = {}
    for group, kind, _, ms, _ in searches:
        by_kind.setdefault((group, kind), []).append(ms)
        by_kind.setdefault((group, "all"), []).append(ms)
    rows = []
    for (group, kind), values in sorted(by_kind.items()):
        rows.append(
            {
                "group": group,
                "kind": kind,
                "searches": len(values),
                "p50_ms": round(statistics.median(values), 1),
                "p95_ms": round(pct(values, 0.95), 1),
            }
        )
    found = {}
    for group, kind, _text, _, total in searches:
        found.setdefault((group, kind), []).append(total)
    return {
        "rows": rows,
        "searches_per_second": round(len(searches) / args.seconds, 1),
        "cpu_ms_per_search": {
            "app": round(app_cpu, 1),
            "database": round(db_cpu, 1) if db_cpu is not None else None,
        },
        "load_average": os.getloadavg(),
        "writes": {
            "written": writes[1],
            "not_found_right_after_commit": writes[2],
            "per_second": round(writes[1] / args.seconds, 1),
            "p50_ms": round(statistics.median(writes[3]), 1) if writes[3] else None,
        },
        "slowest": slowest([(g, k, q, ms) for g, k, q, ms, _ in searches]),
        "median_results": {f"{g}/{k}": statistics.median(v) for (g, k), v in sorted(found.items())},
    }


def profiled(args: argparse.Namespace) -> None:
    """Print and save the one-at-a-time profile (``--profile``)."""
    queries = queries_for(args)
    log(f"{len(queries)} queries sampled; warming up …")
    from search.selectors import ticket_search

    for _, _, text in queries:
        ticket_search(text)
    load_before = os.getloadavg()
    timed: list[tuple[str, str, str, float]] = []
    rows = profile(queries, args.profile, timed)
    print()
    print(
        f"{'kind':<34} {'n':>5} {'stmts':>6} {'app cpu':>8} {'db cpu':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
    )
    for row in rows:
        label = f"{row['group']}: {row['kind']}"
        print(
            f"{label:<34} {row['searches']:>5} {row['queries_per_search']:>6} "
            f"{row['app_cpu_ms']:>8} {row['db_cpu_ms']!s:>7} {row['p50_ms']:>7} "
            f"{row['p95_ms']:>7} {row['max_ms']:>7}"
        )
    searches = sum(row["searches"] for row in rows)
    app = sum(row["app_cpu_ms"] * row["searches"] for row in rows) / searches
    db = sum((row["db_cpu_ms"] or 0) * row["searches"] for row in rows) / searches
    print(f"{'all (mean over every search)':<34} {searches:>5} {'':>6} {app:>8.1f} {db:>7.1f}")
    load = (load_before, os.getloadavg())
    print(f"load average before / after: {load[0]} / {load[1]}")
    slow = slowest(timed)
    print("slowest searches (ms, one at a time):")
    for item in slow:
        print(f"  {item['ms']:>7} {item['group']}: {item['kind']:<20} {item['query']}")
    out = RESULTS.with_name("search_profile.json")
    out.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M"),
                "rounds": args.profile,
                "load": load,
                "rows": rows,
                "cpu_ms_per_search": {"app": round(app, 1), "database": round(db, 1)},
                "slowest": slow,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in ("tickets_ticket", "tickets_message", "search_entry", "tickets_contact"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            out[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size('search_entry')), "
            "pg_size_pretty((SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'search_entry'::regclass "
            "AND c.relname LIKE 'search\\_entry\\_vector%%')), "
            "(SELECT count(*) FROM pg_class WHERE relname LIKE 'search\\_entry\\_vector\\_b%%'), "
            "pg_size_pretty(pg_relation_size('search_entry_idents_trgm'))"
        )
        table, gin, gin_bands, trgm = cursor.fetchone()
    out_sizes = {"search_entry": table, "gin": gin, "gin_bands": gin_bands, "idents_trgm": trgm}
    return {**out, "sizes": out_sizes}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--writes", type=float, default=20, help="messages written per second")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="instead of the concurrent run: every query ROUNDS times, one at a time; "
        "CPU per search by kind",
    )
    parser.add_argument(
        "--queries",
        metavar="FILE",
        help="read the sampled queries from FILE if it exists, else sample and write them "
        "there (the same queries before and after a change)",
    )
    parser.add_argument("--fill-only", action="store_true", help="fill the database and stop")
    args = parser.parse_args()
    create_database(os.environ.get("DATABASE_URL", ""))
    setup_django()
    fill = prepare(args.tickets, args.rebuild)
    sizes = counts()
    log(f"data: {sizes}")
    if args.fill_only:
        return
    if args.profile:
        profiled(args)
        return
    result = run(args)
    print()
    print(f"{'kind':<34} {'searches':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for row in result["rows"]:
        label = f"{row['group']}: {row['kind']}"
        print(f"{label:<34} {row['searches']:>9} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    c = result["cpu_ms_per_search"]
    print(
        f"CPU per search: {c['app']} ms in the app + {c['database']} ms in the database; "
        f"load average at the end {result['load_average']}"
    )
    print("slowest searches (ms):")
    for item in result["slowest"]:
        print(f"  {item['ms']:>7} {item['group']}: {item['kind']:<20} {item['query']}")
    w = result["writes"]
    print(
        f"writes: {w['written']} ({w['per_second']}/s, p50 {w['p50_ms']} ms), "
        f"not found right after commit: {w['not_found_right_after_commit']}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M"),
                "machine": f"{platform.machine()} {os.cpu_count()} cpu, python "
                f"{platform.python_version()}",
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "data": sizes,
                "fill_seconds": fill,
                **result,
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
    multiprocessing.set_start_method("fork")
    main()
