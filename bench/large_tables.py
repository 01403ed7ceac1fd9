"""Benchmark the desk's large tables (issue 18): messages and ticket events grown in steps
to 10,000,000 rows, with the insert rate, the ticket page and search measured at each size.

Run from the repository root against a PostgreSQL instance of its own (the fill takes
~15 GB and ~40 minutes on 2 cores at 10 M messages; set shared_buffers etc. with ALTER
SYSTEM as for bench/search.py, and autovacuum off so that VACUUM is timed alone):

    DATABASE_URL=postgres://postgres@127.0.0.1:PORT/sd_large_tables \\
    REDIS_URL=redis://127.0.0.1:PORT/2 .venv/bin/python bench/large_tables.py \\
        [--sizes 1000000,3000000,10000000] [--seconds 20] [--max-gb 22] [--drop]

How the data grows, never row by row through the ORM:

* the first size is filled by ``bench/search_data.py`` (tickets over two years, ~5
  messages each in four languages, their search entries and indexes, by INSERT … SELECT
  in the server); this script adds the ticket events as the services record them
  (created; message added per message; status changed per agent reply: ~1.6 per message)
  and 20 long tickets of 300 more messages each;
* each next size adds copies of that first block, every id, number and reference shifted
  past the previous copy and every moment a few seconds back, by INSERT … SELECT of the
  block itself (the search entries' vectors are copied, not recomputed; the typo
  vocabulary's counts are multiplied as a refresh would count them); the full-text
  indexes are dropped for the copy and built again after it, as ``search_data`` does.

At each size, in one run (absolute figures depend on the machine's load; the ratios of
one run do not, and CPU per operation barely does):

* sizes of tables and indexes; VACUUM ANALYZE after the growth, then the same tables'
  VACUUM after the writes below (the routine one: dead rows in every index);
* search: ``search.selectors.ticket_search`` over the same queries at every size (words,
  identifiers, phone numbers, sampled by ``bench/search.py`` from the first block);
* ticket page: ``/desk/t/<number>/`` rendered through Django's test client as an agent,
  the same typical tickets (3–7 messages) and long ones (300+) at every size, and the
  page's selector (``workspace.timeline.conversation``) alone;
* insert rate: ``tickets.services.message_add`` (the whole write path: message, event,
  search entry, workspace row, SLA in its transaction; follow-up tasks queued to Redis)
  for ``--seconds``, and a raw ``INSERT … SELECT`` of 20,000 rows into each table
  (rolled back) for comparison.

Prints a table (each figure per size and the ratio of the last size to the first) and
writes bench/results/large_tables.json. Re-runs continue from where the database is
(the sizes measured are kept in it); ``--drop`` drops it at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
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
RESULTS = ROOT / "bench" / "results" / "large_tables.json"
LONG_TICKETS, LONG_MESSAGES = 20, 300
TYPICAL_TICKETS = 40
BATCH = 20_000
STRIDE_ROOM = 1_000_000  # ids the write path may take between two copies
# search_data's full-text indexes, named here in case a run stopped after dropping them.
SEARCH_INDEXES = {
    "search_entry_vector": "CREATE INDEX search_entry_vector ON search_entry USING gin (vector)",
    "search_entry_idents_trgm": "CREATE INDEX search_entry_idents_trgm ON search_entry "
    "USING gin (idents gin_trgm_ops) WHERE idents <> ''",
}
TABLES = ("tickets_message", "tickets_ticketevent", "search_entry", "tickets_ticket")


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<bench database>: this bench is about PostgreSQL.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As served (no query log); Django's test client calls itself "testserver".
    os.environ.update({"DEBUG": "0", "ALLOWED_HOSTS": "testserver"})
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ["SUPPORTDESK_CELERY_QUEUE"] = "bench-large"  # follow-up tasks wait there
    import django

    django.setup()


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


def sql(statement: str, params: list | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def one(statement: str, params: list | None = None) -> Any:
    return sql(statement, params)[0][0]


def state_get(key: str) -> Any:
    rows = sql("SELECT value FROM bench_lt_state WHERE key = %s", [key])
    return json.loads(rows[0][0]) if rows else None


def state_set(key: str, value: Any) -> None:
    sql(
        "INSERT INTO bench_lt_state VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
        "SET value = EXCLUDED.value",
        [key, json.dumps(value)],
    )


# --- CPU (load-insensitive): this process's and its PostgreSQL backend's -------------------


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's server process (same machine)."""
    ms = backend_cpu_ms()
    return float("nan") if ms is None else ms / 1000


class Cpu:
    def __enter__(self) -> Cpu:
        self.client, self.server = time.process_time(), backend_cpu()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client = time.process_time() - self.client
        self.server = backend_cpu() - self.server


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# --- filling -------------------------------------------------------------------------------


def fill_base(messages: int) -> dict[str, Any]:
    """Fill the first block: search_data's desk, then events and long tickets."""
    import search_data
    from django.core.management import call_command
    from django.db import connection

    from search.words import words_refresh

    call_command("migrate", verbosity=0)
    sql("CREATE TABLE IF NOT EXISTS bench_lt_state (key text PRIMARY KEY, value text)")
    if state_get("base") is not None:
        return state_get("base")
    if one("SELECT count(*) FROM tickets_message"):
        sys.exit("The database holds messages not written by this bench: use a new one.")
    timings: dict[str, Any] = {}
    sql("SET maintenance_work_mem = '1GB'")
    started = time.perf_counter()
    log(f"filling the first block: {messages // 5} tickets, ~{messages} messages (search_data)")
    raw = connection.connection.cursor()
    timings.update(search_data.fill(raw, tickets=messages // 5, log=log))
    connection.connection.commit()

    def step(name: str, *statements: str) -> None:
        began = time.perf_counter()
        for statement in statements:
            sql(statement)
        timings[name] = round(time.perf_counter() - began, 1)
        log(f"  {name}: {timings[name]} s")

    # Long tickets: 20 solved tickets of the first year get 300 messages more each,
    # copied (text and search entry) from other tickets' messages.
    step(
        "long tickets",
        "CREATE UNLOGGED TABLE bench_long AS SELECT l.id AS ticket_id, l.created_at, "
        "src.id AS src_id, n, nextval(pg_get_serial_sequence('tickets_message', 'id')) AS new_id "
        "FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS j FROM tickets_ticket "
        "WHERE status = 'solved' AND created_at < now() - interval '365 days' ORDER BY id "
        f"LIMIT {LONG_TICKETS}) l CROSS JOIN LATERAL generate_series(1, {LONG_MESSAGES}) n "
        "JOIN tickets_message src ON src.id = 1 + (l.j * 7919 + n * 13) % "
        "(SELECT max(id) FROM tickets_message) ORDER BY l.id, n",
        "INSERT INTO tickets_message (id, ticket_id, channel, direction, author_contact_id, "
        "author_user_id, body_text, body_html, occurred_at, received_at, metadata) "
        "SELECT b.new_id, b.ticket_id, m.channel, m.direction, m.author_contact_id, "
        "m.author_user_id, m.body_text, m.body_html, "
        "b.created_at + b.n * interval '20 minutes', b.created_at + b.n * interval '20 minutes', "
        "m.metadata FROM bench_long b JOIN tickets_message m ON m.id = b.src_id ORDER BY b.new_id",
        "INSERT INTO search_entry (ticket_id, message_id, kind, config, idents, vector) "
        "SELECT b.ticket_id, b.new_id, e.kind, e.config, e.idents, e.vector "
        "FROM bench_long b JOIN search_entry e ON e.message_id = b.src_id ORDER BY b.new_id",
        "DROP TABLE bench_long",
    )
    # Events as the services record them: created; one per message; a status change
    # after each agent reply (waiting for the customer) and each customer mail (open).
    step(
        "ticket events",
        "INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, data, created_at) "
        "SELECT id, 'created', NULL, '{}'::jsonb, created_at FROM tickets_ticket ORDER BY id",
        "INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, data, created_at) "
        "SELECT m.ticket_id, e.kind, m.author_user_id, CASE e.kind WHEN 'message_added' THEN "
        "jsonb_build_object('message', m.id, 'channel', m.channel, 'direction', m.direction) "
        "ELSE jsonb_build_object('status', CASE m.direction WHEN 'outbound' THEN "
        "'pending_customer' ELSE 'open' END, 'previous', CASE m.direction WHEN 'outbound' THEN "
        "'open' ELSE 'pending_customer' END, 'reason', '') END, m.received_at + e.after "
        "FROM tickets_message m CROSS JOIN (VALUES ('message_added', interval '0 s'), "
        "('status_changed', interval '1 s')) e(kind, after) "
        "WHERE e.kind = 'message_added' OR m.direction = 'outbound' OR m.id % 4 = 1 "
        "ORDER BY m.id, e.after",
    )
    log("typo vocabulary (search.words_refresh) …")
    began = time.perf_counter()
    words_refresh(chunk=200_000, max_chunks=1000)
    timings["words_refresh"] = round(time.perf_counter() - began, 1)
    timings["total"] = round(time.perf_counter() - started, 1)
    base = {"timings": timings, "copies": 0}
    for table, key in (
        ("tickets_ticket", "ticket"),
        ("tickets_message", "message"),
        ("tickets_ticketevent", "event"),
        ("search_entry", "entry"),
    ):
        lo, hi = sql(f"SELECT min(id), max(id) FROM {table}")[0]  # noqa: S608 - fixed names
        base[key] = [lo, hi]
    base["number"] = list(sql("SELECT min(number), max(number) FROM tickets_ticket")[0])
    base["messages"] = one("SELECT count(*) FROM tickets_message")
    state_set("base", base)
    return base


def clone_sql(model: Any, offsets: dict[Any, int], shift: str, where: str) -> str:
    """INSERT … SELECT of the model's rows matching ``where`` (on alias t): the key and
    every reference to a model in ``offsets`` moved by its offset, moments ``shift``
    earlier, ticket numbers moved as ticket ids."""
    from django.db import models

    columns, values = [], []
    for field in model._meta.concrete_fields:
        column = f't."{field.column}"'
        if field.primary_key:
            column = f"{column} + {offsets[model]}"
        elif field.is_relation and field.related_model in offsets:
            column = f"{column} + {offsets[field.related_model]}"
        elif isinstance(field, models.DateTimeField):
            column = f"{column} - {shift}"
        elif field.name == "number" and model in offsets:
            column = f"{column} + {offsets[model]}"
        columns.append(f'"{field.column}"')
        values.append(column)
    table = model._meta.db_table
    return (
        f'INSERT INTO "{table}" ({", ".join(columns)}) '  # noqa: S608 - model metadata
        f'SELECT {", ".join(values)} FROM "{table}" t WHERE {where} ORDER BY t.id'
    )


def grow(base: dict[str, Any], copies: int, max_gb: float) -> dict[str, Any]:
    """Add copies of the first block until there are ``copies``; return what it took."""
    from django.db import transaction

    from search.models import Entry
    from tickets.models import Message, Ticket, TicketEvent

    done = state_get("copies") or 0
    if done >= copies:
        return {}
    timings: dict[str, Any] = {"copies": []}
    sql("SET maintenance_work_mem = '1GB'")
    began = time.perf_counter()
    # Like search_data's load: the copies go in without the secondary indexes (every
    # B-tree and GIN index but the unique ones), built again once after; and without
    # re-checking foreign keys the first block's rows passed already.
    dropped = state_get("dropped_indexes")
    if dropped is None:
        dropped = [
            list(row)
            for row in sql(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                "WHERE c.relname IN ('tickets_ticket', 'tickets_message', "
                "'tickets_ticketevent', 'search_entry') AND NOT i.indisunique"
            )
        ]
        names = {name for name, _ in dropped}
        dropped += [[n, d] for n, d in SEARCH_INDEXES.items() if n not in names]
        state_set("dropped_indexes", dropped)
    for name, _definition in dropped:
        sql(f"DROP INDEX IF EXISTS {name}")
    sql("SET session_replication_role = replica")
    stride = {
        model: base[key][1] + STRIDE_ROOM
        for model, key in ((Ticket, "ticket"), (Message, "message"), (TicketEvent, "event"))
    }
    stride[Entry] = base["entry"][1] + STRIDE_ROOM
    parts = ((Ticket, "ticket"), (Message, "message"), (TicketEvent, "event"), (Entry, "entry"))
    for copy in range(done + 1, copies + 1):
        size_gb = one("SELECT pg_database_size(current_database())") / 1e9
        per_copy = size_gb / (copy)  # the first block and each copy are alike
        if size_gb + per_copy > max_gb:
            log(f"stopping the growth: {size_gb:.1f} GB now, next copy past --max-gb {max_gb}")
            break
        started = time.perf_counter()
        offsets = {model: copy * step for model, step in stride.items()}
        shift = f"{copy * 37} * interval '1 second'"
        took_parts = []
        for model, _key in reversed(parts):  # what an interrupted run left of this copy
            sql(f"DELETE FROM {model._meta.db_table} WHERE id >= {offsets[model]}")  # noqa: S608
        for model, key in parts:
            lo, hi = base[key]
            part_began = time.perf_counter()
            sql(clone_sql(model, offsets, shift, f"t.id BETWEEN {lo} AND {hi}"))
            took_parts.append(round(time.perf_counter() - part_began))
        for table in ("tickets_ticket", "tickets_message", "tickets_ticketevent", "search_entry"):
            sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        sql("SELECT setval('tickets_ticket_number_seq', (SELECT max(number) FROM tickets_ticket))")
        with transaction.atomic():
            # The vocabulary as search.words_refresh would count the copies' words.
            sql(f"UPDATE search_word SET documents = documents / {copy} * {copy + 1}")
            sql(
                "UPDATE search_wordswatermark "
                "SET last_entry_id = (SELECT max(id) FROM search_entry)"
            )
            state_set("copies", copy)
        took = round(time.perf_counter() - started, 1)
        timings["copies"].append(took)
        state_set("grow_timings", timings)
        log(
            f"  copy {copy}: {took} s (tickets, messages, events, entries: {took_parts} s); "
            f"database {size_gb + per_copy:.1f} GB; "
            f"disk free {shutil.disk_usage('/').free / 1e9:.0f} GB"
        )
    sql("SET session_replication_role = DEFAULT")
    for name, definition in dropped:
        started = time.perf_counter()
        sql(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
        timings[f"index {name}"] = round(time.perf_counter() - started, 1)
        log(f"  index {name}: {timings[f'index {name}']} s")
        state_set("grow_timings", timings)
    state_set("dropped_indexes", None)
    timings["total"] = round(time.perf_counter() - began, 1)
    return timings


# --- measuring -----------------------------------------------------------------------------


def relation_sizes() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table in TABLES:
        rows, total, indexes = sql(
            f"SELECT (SELECT count(*) FROM {table}), pg_total_relation_size('{table}'), "  # noqa: S608
            f"pg_indexes_size('{table}')"
        )[0]
        out[table] = {
            "rows": rows,
            "total_mb": round(total / 2**20),
            "indexes_mb": round(indexes / 2**20),
        }
    out["database_mb"] = round(one("SELECT pg_database_size(current_database())") / 2**20)
    return out


def vacuum(tables: tuple[str, ...], analyze: bool) -> dict[str, float]:
    from django.db import connection

    out = {}
    for table in tables:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {'(ANALYZE) ' if analyze else ''}{table}")
        out[table] = round(time.perf_counter() - started, 2)
    return out


def load_search_bench() -> Any:
    """bench/search.py as a module (its name would shadow the ``search`` app)."""
    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def search_queries() -> list[list[str]]:
    queries = state_get("queries")
    if queries is None:
        samples = load_search_bench().sample_queries(random.Random(18), per_kind=8)
        queries = []
        for group, items in samples.items():
            per_kind: dict[str, int] = {}
            for kind, text in items:
                # Stop words alone are bench/search.py's own subject (slowest by design).
                if per_kind.get(kind, 0) < (3 if kind == "common word" else 8):
                    per_kind[kind] = per_kind.get(kind, 0) + 1
                    queries.append([group, kind, text])
        state_set("queries", queries)
    return queries


def measure_search(queries: list[list[str]], rounds: int) -> dict[str, Any]:
    from search.selectors import ticket_search

    for _, _, text in queries:  # warm, as a desk in use has its pages in memory
        ticket_search(text)
    by_group: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for _ in range(rounds):
        for group, _kind, text in queries:
            with Cpu() as used:
                started = time.perf_counter()
                ticket_search(text)
                ms = (time.perf_counter() - started) * 1000
            by_group.setdefault(group, []).append(ms)
            cpu.setdefault(group, []).append((used.client + used.server) * 1000)
    return {
        group: {
            "searches": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(pct(values, 0.95), 1),
            "cpu_ms_median": round(statistics.median(cpu[group]), 1),
        }
        for group, values in sorted(by_group.items())
    }


def page_samples(base: dict[str, Any]) -> dict[str, list[int]]:
    samples = state_get("pages")
    if samples is None:
        lo, hi = base["ticket"]
        typical = [
            n
            for (n,) in sql(
                "SELECT t.number FROM tickets_ticket t WHERE t.id BETWEEN %s AND %s "
                "AND (SELECT count(*) FROM tickets_message m WHERE m.ticket_id = t.id) < 10 "
                "ORDER BY md5(t.id::text) LIMIT %s",
                [lo, hi, TYPICAL_TICKETS],
            )
        ]
        long = [
            n
            for (n,) in sql(
                "SELECT t.number FROM tickets_ticket t WHERE t.id BETWEEN %s AND %s AND "
                "(SELECT count(*) FROM tickets_message m WHERE m.ticket_id = t.id) > %s",
                [lo, hi, LONG_MESSAGES],
            )
        ]
        samples = {"typical": typical, "long": long}
        state_set("pages", samples)
    return samples


def agent_client() -> Any:
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tests.factories import AgentFactory

    user = AgentFactory(username="bench-large-agent", is_staff=True)
    for codename in ("view_ticket", "change_ticket"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def measure_pages(client: Any, samples: dict[str, list[int]], rounds: int) -> dict[str, Any]:
    from django.db import connection
    from django.urls import reverse

    from workspace import choices, reads, timeline

    spent: list[float] = []

    def timed(execute: Any, sql_: str, params: Any, many: bool, ctx: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql_, params, many, ctx)
        finally:
            spent.append(time.perf_counter() - began)

    out: dict[str, Any] = {}
    for kind, numbers in samples.items():
        wall, cpu, db, queries, selector = [], [], [], [], []
        for number in numbers:  # warm
            assert client.get(reverse("workspace:ticket", args=[number])).status_code == 200
        for _ in range(rounds):
            for number in numbers:
                spent.clear()
                with Cpu() as used, connection.execute_wrapper(timed):
                    started = time.perf_counter()
                    response = client.get(reverse("workspace:ticket", args=[number]))
                    wall.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (number, response.status_code)
                cpu.append((used.client + used.server) * 1000)
                db.append(sum(spent) * 1000)
                queries.append(len(spent))
                ticket = reads.ticket_by_number(number)
                known = {
                    "users": dict(choices.agent_choices()),
                    "departments": dict(choices.department_choices()),
                }
                started = time.perf_counter()
                timeline.conversation(ticket, known=known)
                selector.append((time.perf_counter() - started) * 1000)
        out[kind] = {
            "pages": len(wall),
            "p50_ms": round(statistics.median(wall), 1),
            "p95_ms": round(pct(wall, 0.95), 1),
            "cpu_ms_median": round(statistics.median(cpu), 1),
            "db_ms_median": round(statistics.median(db), 1),
            "queries_median": statistics.median(queries),
            "selector_p50_ms": round(statistics.median(selector), 1),
            "selector_p95_ms": round(pct(selector, 0.95), 1),
        }
    return out


def measure_writes(base: dict[str, Any], seconds: float) -> dict[str, Any]:
    """message_add for ``seconds`` on the same open tickets of the first block."""
    from tickets.models import Status, Ticket
    from tickets.services import MessageIn, message_add

    lo, hi = base["ticket"]
    live = list(
        Ticket.objects.filter(pk__range=(lo, hi))
        .exclude(status__in=[Status.CLOSED, Status.MERGED])
        .order_by("-pk")
        .values_list("pk", flat=True)[:2000]
    )
    rng = random.Random(18)
    latencies: list[float] = []
    with Cpu() as used:
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            ticket = Ticket.objects.select_related("contact").get(pk=rng.choice(live))
            started = time.perf_counter()
            message_add(
                ticket=ticket,
                message=MessageIn(
                    channel="email",
                    body_text=f"The backup failed again tonight, reference w{len(latencies)}x.",
                    author_contact=ticket.contact,
                ),
            )
            latencies.append((time.perf_counter() - started) * 1000)
        took = time.perf_counter() - began
    written = len(latencies)
    return {
        "written": written,
        "per_second": round(written / took, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(pct(latencies, 0.95), 1),
        "cpu_ms_per_message": round((used.client + used.server) * 1000 / written, 2),
        "db_cpu_ms_per_message": round(used.server * 1000 / written, 2),
    }


def measure_raw_inserts(base: dict[str, Any]) -> dict[str, Any]:
    """INSERT … SELECT of BATCH rows into each table (messages, their search entries,
    events), rolled back: the tables' own cost (heap and every index), no services."""
    from django.db import connection, transaction

    from search.models import Entry
    from tickets.models import Message, Ticket, TicketEvent

    offsets = {Ticket: 0}
    for model in (Message, TicketEvent, Entry):
        offsets[model] = one(f"SELECT max(id) FROM {model._meta.db_table}") + STRIDE_ROOM  # noqa: S608
    lo = base["message"][0]
    batches = (
        (Message, f"t.id BETWEEN {lo} AND {lo + BATCH - 1}"),
        (Entry, f"t.message_id BETWEEN {lo} AND {lo + BATCH - 1}"),
        (TicketEvent, f"t.id BETWEEN {base['event'][0]} AND {base['event'][0] + BATCH - 1}"),
    )
    out = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for model, where in batches:
                started = time.perf_counter()
                cursor.execute(clone_sql(model, offsets, "interval '0 s'", where))
                out[model._meta.db_table] = round(cursor.rowcount / (time.perf_counter() - started))
            raise _Rollback
    except _Rollback:
        pass
    return out


class _Rollback(Exception):
    pass


def measure_size(base: dict[str, Any], args: argparse.Namespace, grew: dict) -> dict[str, Any]:
    log("VACUUM ANALYZE after the growth …")
    result: dict[str, Any] = {"grow_seconds": grew}
    result["vacuum_after_fill_s"] = vacuum(TABLES, analyze=True)
    result["sizes"] = relation_sizes()
    log(f"  sizes: {result['sizes']}")
    log("search …")
    result["search"] = measure_search(search_queries(), args.search_rounds)
    log(f"  {result['search']}")
    log("ticket pages …")
    result["pages"] = measure_pages(agent_client(), page_samples(base), args.page_rounds)
    log(f"  {result['pages']}")
    log(f"write path for {args.seconds} s …")
    result["writes"] = measure_writes(base, args.seconds)
    log(f"  {result['writes']}")
    result["raw_insert_rows_per_s"] = measure_raw_inserts(base)
    log(f"  raw: {result['raw_insert_rows_per_s']}")
    result["vacuum_s"] = vacuum(TABLES[:3], analyze=False)
    log(f"  vacuum: {result['vacuum_s']}")
    result["load_average"] = round(os.getloadavg()[0], 1)
    return result


# --- report --------------------------------------------------------------------------------


def table_rows(measured: dict[str, dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    sizes = list(measured)

    def pick(path: str) -> list[Any]:
        values = []
        for size in sizes:
            value: Any = measured[size]
            for key in path.split("/"):
                value = value.get(key) if isinstance(value, dict) else None
            values.append(value)
        return values

    rows = [
        ("messages (rows)", pick("sizes/tickets_message/rows")),
        ("ticket events (rows)", pick("sizes/tickets_ticketevent/rows")),
        ("search entries (rows)", pick("sizes/search_entry/rows")),
        ("write path, messages/s (message_add)", pick("writes/per_second")),
        ("write path, p50 ms", pick("writes/p50_ms")),
        ("write path, CPU ms/message (app + db)", pick("writes/cpu_ms_per_message")),
        ("raw INSERT messages, rows/s", pick("raw_insert_rows_per_s/tickets_message")),
        ("raw INSERT events, rows/s", pick("raw_insert_rows_per_s/tickets_ticketevent")),
        ("raw INSERT search entries, rows/s", pick("raw_insert_rows_per_s/search_entry")),
    ]
    for kind in ("typical", "long"):
        rows += [
            (f"ticket page ({kind}) p50 ms", pick(f"pages/{kind}/p50_ms")),
            (f"ticket page ({kind}) p95 ms", pick(f"pages/{kind}/p95_ms")),
            (f"ticket page ({kind}) CPU ms", pick(f"pages/{kind}/cpu_ms_median")),
            (f"ticket page ({kind}) DB ms", pick(f"pages/{kind}/db_ms_median")),
            (f"selector conversation() ({kind}) p50 ms", pick(f"pages/{kind}/selector_p50_ms")),
        ]
    for group in ("words", "identifiers", "phones"):
        rows += [
            (f"search {group} p50 ms", pick(f"search/{group}/p50_ms")),
            (f"search {group} p95 ms", pick(f"search/{group}/p95_ms")),
            (f"search {group} CPU ms", pick(f"search/{group}/cpu_ms_median")),
        ]
    for table, label in (
        ("tickets_message", "messages"),
        ("tickets_ticketevent", "events"),
        ("search_entry", "search entries"),
    ):
        rows += [
            (f"{label}: table+indexes MB", pick(f"sizes/{table}/total_mb")),
            (f"{label}: indexes MB", pick(f"sizes/{table}/indexes_mb")),
        ]
    rows += [
        ("VACUUM messages after writes, s", pick("vacuum_s/tickets_message")),
        ("VACUUM events after writes, s", pick("vacuum_s/tickets_ticketevent")),
        ("VACUUM search entries after writes, s", pick("vacuum_s/search_entry")),
        ("VACUUM ANALYZE messages after fill, s", pick("vacuum_after_fill_s/tickets_message")),
        ("load average (1 min)", pick("load_average")),
    ]
    return rows


def print_table(measured: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    sizes = list(measured)
    out = []
    header = f"{'figure':<44}" + "".join(f"{s:>12}" for s in sizes) + f"{'last/first':>12}"
    print()
    print(header)
    for label, values in table_rows(measured):
        ratio = None
        if values and all(isinstance(v, int | float) and v for v in (values[0], values[-1])):
            ratio = round(values[-1] / values[0], 2)
        cells = "".join(f"{'' if v is None else v:>12}" for v in values)
        print(f"{label:<44}{cells}{'' if ratio is None else ratio:>12}")
        out.append(
            {"figure": label, "values": dict(zip(sizes, values, strict=True)), "ratio": ratio}
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,3000000,10000000", help="messages")
    parser.add_argument("--seconds", type=float, default=20, help="write path per size")
    parser.add_argument("--search-rounds", type=int, default=2)
    parser.add_argument("--page-rounds", type=int, default=2)
    parser.add_argument("--max-gb", type=float, default=22, help="stop growing past this")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    create_database(os.environ.get("DATABASE_URL", ""))
    setup_django()
    base = fill_base(sizes[0])
    measured: dict[str, dict[str, Any]] = state_get("measured") or {}
    for size in sizes:
        copies = max(0, round(size / base["messages"]) - 1)
        grew = grow(base, copies, args.max_gb) or state_get("grow_timings") or {}
        have = one("SELECT count(*) FROM tickets_message")
        label = f"{have / 1e6:.1f}M" if have >= 1e6 else f"{have / 1e3:.0f}k"
        if label in measured:
            continue
        log(f"measuring at {have} messages …")
        measured[label] = measure_size(base, args, grew)
        state_set("measured", measured)
        if (state_get("copies") or 0) < copies:
            break  # --max-gb reached: the largest size is measured
    rows = print_table(measured)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M"),
                "machine": f"{platform.machine()} {os.cpu_count()} cpu, python "
                f"{platform.python_version()}",
                "base_fill_seconds": base["timings"],
                "table": rows,
                "measured": measured,
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
