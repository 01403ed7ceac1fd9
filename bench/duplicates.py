"""Benchmark duplicate detection: accuracy on the labelled pairs, and the cost of
detecting on one new ticket with 10,000 / 100,000 / 1,000,000 existing tickets.

Run from the repository root (beside ../shared) against a PostgreSQL server you may
create a database on:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_dupbench .venv/bin/python bench/duplicates.py

The database in DATABASE_URL is created if missing and migrated. Accuracy: the labelled
pairs go through ``duplicates.evaluation`` (each pair rolled back): the older 260
(tests/duplicates/pairs.jsonl), the 454 of tests/duplicates/pairs-handwritten.jsonl and
../shared/duplicates/pairs-realistic.jsonl (tuning part, held-out third), the fresh
held-out 60 (tests/duplicates/pairs-fresh.jsonl) and the realistic 240.
Cost: synthetic tickets, their signatures and retrieval keys are inserted with INSERT … SELECT
generate_series up to each size (re-runs reuse them; --rebuild starts over). Accounts
have a fixed size distribution (100 accounts per 2,500 tickets, cubic skew: the biggest
has ~500 tickets a year), tickets are spread over a year, 70% of the last two weeks' are
open, every ticket names one of its account's 7 domains. At each size ``--new`` tickets
arrive for random existing contacts through ``tickets.services.ticket_open`` and
``detect_duplicates`` runs on each as the Celery task would; the figures are its wall
time. For flagged tickets the announcement it queues (``flags_announce``: internal note,
locmem mail) is timed separately, as the follow-up task would run it. The tickets a run
opens are deleted afterwards, so re-runs meet the same data. Writes
bench/results/duplicates.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time as clock
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgdb import create_database  # bench/ is the script folder: sys.path[0]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAIRS = ROOT / "tests" / "duplicates" / "pairs.jsonl"
HANDWRITTEN = ROOT / "tests" / "duplicates" / "pairs-handwritten.jsonl"
FRESH = ROOT / "tests" / "duplicates" / "pairs-fresh.jsonl"  # held out, run once
REALISTIC = ROOT.parent / "shared" / "duplicates" / "pairs-realistic.jsonl"  # test data, not ours
RESULTS = ROOT / "bench" / "results" / "duplicates.json"
BASE_NUMBER = 2_000_000_000  # synthetic tickets' numbers: far from the live sequence
BLOCK, ACCOUNTS_PER_BLOCK, DOMAINS = 2_500, 100, 7


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://…/<bench database>: this bench is about PostgreSQL.")
    create_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")  # receivers queue into memory
    import django

    django.setup()


# --- accuracy --------------------------------------------------------------------------


def accuracy() -> dict[str, dict[str, Any]]:
    """Return precision/recall/F1 on the older pairs, the hand-written and realistic pairs
    (whole, tuning part, held-out third), the fresh held-out set and the realistic 240."""
    from duplicates.evaluation import PairError, Scores, evaluate_pair, parse_pairs

    names = ("old_260", "set_454", "tuning", "held_out", "fresh_held_out_60", "realistic_240")
    sets = {name: Scores() for name in names}
    for path in (PAIRS, HANDWRITTEN, REALISTIC, FRESH):
        if not path.is_file():
            raise SystemExit(f"{path} is missing (the realistic pairs live in ../shared).")
        with path.open(encoding="utf-8") as lines:
            for _, pair in parse_pairs(lines):
                if isinstance(pair, PairError):
                    raise SystemExit(f"{path}: {pair}")
                predicted = evaluate_pair(pair)["predicted"]
                if path == PAIRS:
                    chosen = ["old_260"]
                elif path == FRESH:
                    chosen = ["fresh_held_out_60"]
                else:
                    chosen = ["set_454", "held_out" if pair.held_out else "tuning"]
                if path == REALISTIC:
                    chosen.append("realistic_240")
                for name in chosen:
                    sets[name].add(predicted=predicted, label=pair.label)
    return {
        name: {
            "pairs": s.tp + s.fp + s.fn + s.tn,
            "precision": round(s.precision, 3),
            "recall": round(s.recall, 3),
            "f1": round(s.f1, 3),
            "line": s.line(),
        }
        for name, s in sets.items()
    }


# --- synthetic data --------------------------------------------------------------------


def existing() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM tickets_ticket WHERE number >= %s", [BASE_NUMBER])
        return cur.fetchone()[0]


def rebuild() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE duplicates_duplicateflag, duplicates_duplicateband, "
            "duplicates_ticketsignature, tickets_ticket, tickets_contact, tickets_account "
            "CASCADE"
        )
        cur.execute("DROP TABLE IF EXISTS bench_account")


def grow(target: int) -> float:
    """Add synthetic tickets (with signatures and keys) up to ``target``; return seconds."""
    from django.db import connection, transaction

    have = existing()
    if have >= target:
        return 0.0
    began = clock.perf_counter()
    for lo in range(have, target, 100_000):
        hi = min(target, lo + 100_000)
        with transaction.atomic():
            _accounts(lo, hi)
            _tickets(lo, hi)
            _signatures_and_keys(lo, hi)
        print(f"  filled {hi:,} tickets ({clock.perf_counter() - began:.0f} s)", flush=True)
    with connection.cursor() as cur:
        cur.execute(
            "ANALYZE tickets_ticket; ANALYZE duplicates_duplicateband; "
            "ANALYZE duplicates_ticketsignature"
        )
    return clock.perf_counter() - began


def _copy_template(
    model: Any, template_pk: int, overrides: dict[str, str], source: str, params: dict[str, Any]
) -> None:
    """INSERT copies of one ORM-made row, so columns other apps add get their defaults."""
    from django.db import connection

    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
    select = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} "  # noqa: S608
            f"FROM {table} t, {source} WHERE t.id = %(template)s",
            {**params, "template": template_pk},
        )
        cur.execute(f"DELETE FROM {table} WHERE id = %s", [template_pk])  # noqa: S608


def _accounts(lo: int, hi: int) -> None:
    from django.db import connection

    from duplicates.minhash import signed64
    from tickets.models import Account, Contact

    first, last = lo // BLOCK * ACCOUNTS_PER_BLOCK, (hi - 1) // BLOCK * ACCOUNTS_PER_BLOCK + 100
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_account (g int PRIMARY KEY, account_id bigint, "
            "c0 bigint, c1 bigint)"
        )
        cur.execute("SELECT coalesce(max(g) + 1, 0) FROM bench_account")
        first = max(first, cur.fetchone()[0])
    if first >= last:
        return
    account = Account.objects.create(name="bench template")
    _copy_template(
        Account,
        account.pk,
        {"name": "'bench-' || g"},
        "generate_series(%(first)s, %(last)s - 1) g",
        {"first": first, "last": last},
    )
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO bench_account (g, account_id) SELECT substr(name, 7)::int, id "
            "FROM tickets_account WHERE name LIKE 'bench-%%' AND substr(name, 7)::int >= %s",
            [first],
        )
    contact = Contact.objects.create(name="bench template", account=None)
    _copy_template(
        Contact,
        contact.pk,
        {"account_id": "a.account_id", "name": "'bench-' || a.g || '-' || x"},
        "bench_account a, generate_series(0, 1) x",
        {},
    )
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE bench_account a SET c0 = c.id FROM tickets_contact c "
            "WHERE c.name = 'bench-' || a.g || '-0' AND a.c0 IS NULL"
        )
        cur.execute(
            "UPDATE bench_account a SET c1 = c.id FROM tickets_contact c "
            "WHERE c.name = 'bench-' || a.g || '-1' AND a.c1 IS NULL"
        )
        cur.execute("SELECT account_id FROM bench_account WHERE g >= %s", [first])
        keys = [
            (account_id, slot, signed64(f"a{account_id}|domain|d{account_id}-{slot}.example"))
            for (account_id,) in cur.fetchall()
            for slot in range(DOMAINS)
        ]
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_domain_key (account_id bigint, slot int, "
            "band_key bigint, PRIMARY KEY (account_id, slot))"
        )
        cur.executemany("INSERT INTO bench_domain_key VALUES (%s, %s, %s)", keys)


def _tickets(lo: int, hi: int) -> None:
    from tickets.lines import default_line
    from tickets.models import Department, Ticket

    department = Department.objects.order_by("pk").first()
    now = datetime.now(UTC)
    template = Ticket.objects.create(
        number=BASE_NUMBER - 1,
        subject="bench",
        department=department,
        line=department.line or default_line(),  # every ticket has a support line
        origin_channel="email",
        status="closed",
        created_at=now,
        updated_at=now,
    )
    # s: ticket index, its account (cubic skew inside its block) and age in seconds.
    source = (
        "(SELECT g, (g / %(block)s) * %(per)s + floor(%(per)s * power(random(), 3))::int AS ag,"
        " random() < 0.5 AS second, random() * 31536000 AS age, random() AS r "
        " FROM generate_series(%(lo)s, %(hi)s - 1) g) s "
        "JOIN bench_account a ON a.g = s.ag"
    )
    overrides = {
        "number": f"{BASE_NUMBER} + s.g",
        "subject": "'bench ticket ' || s.g",
        "account_id": "a.account_id",
        "contact_id": "CASE WHEN s.second THEN a.c1 ELSE a.c0 END",
        "origin_channel": "(ARRAY['email','chat','phone','portal'])[1 + s.g %% 4]",
        "status": "CASE WHEN s.age < 1209600 AND s.r < 0.7 THEN 'open' ELSE 'closed' END",
        "created_at": "%(now)s - s.age * interval '1 second'",
        "updated_at": "%(now)s - s.age * interval '1 second'",
    }
    _copy_template(
        Ticket,
        template.pk,
        overrides,
        source,
        {"block": BLOCK, "per": ACCOUNTS_PER_BLOCK, "lo": lo, "hi": hi, "now": now},
    )


def _sample() -> dict[str, Any]:
    """The synthetic tickets' signature (one text for all), as the current code files it."""
    from duplicates import minhash
    from duplicates.features import VERSION, build_features

    sample = build_features(
        subject="Transfer failing",
        body="The transfer keeps failing: the control panel says the auth code is invalid.",
    )
    return {
        "tokens": json.dumps(list(sample.tokens)),
        "subject": json.dumps(list(sample.subject_tokens)),
        "minhash": minhash.pack(sample.minhash),
        "marks": json.dumps(sorted(sample.marks)),
        "version": VERSION,
    }


def signatures_current() -> int:
    """Bring synthetic signatures filed by an older ``features.VERSION`` up to date.

    Detection files a stale candidate again before comparing it (what an upgrade costs
    once per ticket); the bench measures the steady state, as after that.
    """
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE duplicates_ticketsignature s SET tokens = %(tokens)s::jsonb, "
            "subject_tokens = %(subject)s::jsonb, minhash = %(minhash)s, "
            "marks = %(marks)s::jsonb, version = %(version)s FROM tickets_ticket t "
            "WHERE t.id = s.ticket_id AND t.number >= %(base)s AND s.version <> %(version)s",
            {**_sample(), "base": BASE_NUMBER},
        )
        return cur.rowcount


def _signatures_and_keys(lo: int, hi: int) -> None:
    from django.db import connection

    in_range = "t.number >= %(lo)s AND t.number < %(hi)s"
    params = {
        "lo": BASE_NUMBER + lo,
        "hi": BASE_NUMBER + hi,
        **_sample(),
        "domains": DOMAINS,
    }
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO duplicates_ticketsignature (ticket_id, contact_id, account_id, "  # noqa: S608 - constant SQL
            "occurred_at, text_hash, tokens, subject_tokens, identifiers, minhash, language, "
            "version, marks, updated_at) "
            "SELECT t.id, t.contact_id, t.account_id, t.created_at, md5(t.id::text), "
            "%(tokens)s::jsonb, %(subject)s::jsonb, jsonb_build_object('domain', "
            "jsonb_build_array('d' || t.account_id || '-' || (t.number %% %(domains)s) || "
            "'.example')), %(minhash)s, 'en', %(version)s, %(marks)s::jsonb, t.created_at "
            "FROM tickets_ticket t "
            "WHERE " + in_range,
            params,
        )
        # 16 LSH bands and the exact-text key: unique per ticket, like real text.
        cur.execute(
            "INSERT INTO duplicates_duplicateband (band_key, ticket_id, contact_id, account_id,"
            " created_at) SELECT ('x' || substr(md5(t.id || '-' || b), 1, 16))::bit(64)::bigint,"
            " t.id, t.contact_id, t.account_id, t.created_at "
            "FROM tickets_ticket t, generate_series(0, 16) b WHERE " + in_range,
            params,
        )
        # The domain key is shared by the account's tickets about that domain.
        cur.execute(
            "INSERT INTO duplicates_duplicateband (band_key, ticket_id, contact_id, account_id,"
            " created_at) SELECT k.band_key, t.id, t.contact_id, t.account_id, t.created_at "
            "FROM tickets_ticket t JOIN bench_domain_key k ON k.account_id = t.account_id "
            "AND k.slot = t.number %% %(domains)s WHERE " + in_range,
            params,
        )


# --- measuring -------------------------------------------------------------------------


def measure(count: int, seed: int) -> dict[str, Any]:
    """Open ``count`` tickets for existing contacts and time detection on each."""
    from django.db import connection

    from duplicates.problems import proposals_for
    from duplicates.services import detect_duplicates, flags_announce
    from tickets.lines import department_for_channel
    from tickets.models import Contact, Department
    from tickets.services import MessageIn, ticket_open

    rng = random.Random(seed)
    bodies = [json.loads(line)["a"]["body"] for line in PAIRS.read_text().splitlines()]
    channels = ["email", "chat", "phone", "portal"]
    # Each channel goes where a line takes it (a support line may take no calls).
    departments = {c: department_for_channel(c) or Department.objects.first() for c in channels}
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM tickets_ticket WHERE number >= %s", [BASE_NUMBER])
        low, high = cur.fetchone()
    timings, flagged, opened = [], 0, []
    quick: list[float] = []  # nothing flagged: signature, keys, lookup, scoring
    slow: list[float] = []  # flagged: + flag rows and queueing the announcement (or a merge)
    announced: list[float] = []  # the follow-up task: internal note and assignee mail
    proposed: list[float] = []  # the follow-up task: problem proposals for named codes
    # CPU, which moves far less than wall time when other jobs share the 2 cores: this
    # process's per check, PostgreSQL's backend's summed over the run (/proc, in ticks).
    python_cpu: list[float] = []
    backend_cpu = 0.0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
    for i in range(count + 10):  # the first 10 warm caches and are not counted
        with connection.cursor() as cur:
            cur.execute(
                "SELECT contact_id, account_id FROM tickets_ticket WHERE id >= %s "
                "ORDER BY id LIMIT 1",
                [rng.randint(low, high)],
            )
            contact_id, account_id = cur.fetchone()
        contact = Contact.objects.get(pk=contact_id)
        domain = f"d{account_id}-{rng.randrange(DOMAINS)}.example"
        body = f"{rng.choice(bodies)}\n\nThis is about {domain}."
        channel = rng.choice(channels)
        ticket = ticket_open(
            subject=f"Problem with {domain}",
            department=departments[channel],
            contact=contact,
            message=MessageIn(
                channel=channel,
                body_text=body,
                author_contact=contact,
            ),
        ).ticket
        opened.append(ticket.pk)
        backend_before = _backend_cpu(backend)
        cpu_began = clock.process_time()
        began = clock.perf_counter()
        result = detect_duplicates(ticket.pk)
        elapsed = (clock.perf_counter() - began) * 1000
        if i >= 10:
            python_cpu.append((clock.process_time() - cpu_began) * 1000)
            backend_cpu += _backend_cpu(backend) - backend_before
        if result.flagged and result.merged_into is None:
            began = clock.perf_counter()
            flags_announce(ticket_id=ticket.pk)
            if i >= 10:
                announced.append((clock.perf_counter() - began) * 1000)
        if result.to_propose:  # the follow-up task: count customers, file a proposal
            began = clock.perf_counter()
            proposals_for(ticket.pk)
            if i >= 10:
                proposed.append((clock.perf_counter() - began) * 1000)
        if i >= 10:
            timings.append(elapsed)
            flagged += bool(result.flagged)
            (slow if result.flagged else quick).append(elapsed)
    lookup_plan = plan(opened[-1])
    forget(opened)
    timings.sort()
    quick.sort()
    return {
        "new_tickets": count,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "max_ms": round(timings[-1], 2),
        "flagged_share": round(flagged / count, 3),
        "unflagged_p95_ms": round(quick[int(0.95 * (len(quick) - 1))], 2) if quick else None,
        "flagged_median_ms": round(statistics.median(slow), 2) if slow else None,
        "announce_median_ms": round(statistics.median(announced), 2) if announced else None,
        "propose_median_ms": round(statistics.median(proposed), 2) if proposed else None,
        "propose_share": round(len(proposed) / count, 3),
        "python_cpu_median_ms": round(statistics.median(python_cpu), 2),
        "python_cpu_p95_ms": round(sorted(python_cpu)[int(0.95 * (count - 1))], 2),
        "postgres_cpu_mean_ms": round(backend_cpu / count, 2) if backend_cpu >= 0 else None,
        # Shared 2-core machine: the load shows how contended the figures are.
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "plan": lookup_plan,
    }


def _backend_cpu(pid: int) -> float:
    """Return the PostgreSQL backend's CPU time so far in ms (-inf when it is not local)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("-inf")
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def forget(ticket_ids: list[int]) -> None:
    """Delete the tickets a run opened (an auto-merged one first loses its pointer)."""
    from tickets.models import Ticket

    Ticket.objects.filter(pk__in=ticket_ids, merged_into__isnull=False).update(
        merged_into=None, status="closed"
    )
    Ticket.objects.filter(pk__in=ticket_ids).delete()


def plan(ticket_id: int) -> str:
    """Return the PostgreSQL plan of the ticket's candidate lookup (index scans only)."""
    from django.db import connection

    from duplicates import signatures

    row = signatures.ticket_row(ticket_id)
    if row is None or row.status in signatures.NOT_CANDIDATES:
        return "(the last new ticket was merged: no plan)"
    features = signatures.ticket_features(row)
    statements: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        signatures.candidates(row, features)
    sql, params = statements[0]
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(line for (line,) in cur.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--new", type=int, default=200, help="new tickets timed per size")
    parser.add_argument("--rebuild", action="store_true", help="drop the synthetic rows first")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--seed", type=int, default=0, help="vary the new tickets on re-runs")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.rebuild:
        rebuild()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
    }
    if not args.skip_accuracy:
        results["accuracy"] = accuracy()
        for name, figures in results["accuracy"].items():
            print(f"accuracy {name} ({figures['pairs']} pairs): {figures['line']}")
    results["cost"] = []
    print(
        f"{'existing':>10} {'fill s':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} flagged "
        "load  p95 unflagged / median flagged / median announce / median propose"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        filled = grow(size)
        if refiled := signatures_current():
            print(f"{refiled:,} synthetic signatures brought to the current version", flush=True)
        row = {
            "existing": existing(),
            "fill_s": round(filled, 1),
            **measure(args.new, size + args.seed),
        }
        results["cost"].append(row)
        print(
            f"{row['existing']:>10,} {row['fill_s']:>8} {row['p50_ms']:>8} "
            f"{row['p95_ms']:>8} {row['max_ms']:>8} {row['flagged_share']:>7.0%} "
            f"{row['load_avg_1m']:>5}  {row['unflagged_p95_ms']} / {row['flagged_median_ms']} / "
            f"{row['announce_median_ms']} / {row['propose_median_ms']}; CPU per check: "
            f"Python median {row['python_cpu_median_ms']} p95 {row['python_cpu_p95_ms']}, "
            f"PostgreSQL mean {row['postgres_cpu_mean_ms']}",
            flush=True,
        )
    cost = results["cost"]
    if len(cost) > 1:
        results["p95_growth"] = round(cost[-1]["p95_ms"] / cost[0]["p95_ms"], 2)
        print(
            f"p95 growth {cost[0]['existing']:,} -> {cost[-1]['existing']:,}: "
            f"{results['p95_growth']}x"
        )
    results["plan"] = cost[-1].pop("plan")  # of the largest size's last lookup
    for row in cost:
        row.pop("plan", None)
    print(results["plan"])
    results["earlier_runs"] = _earlier_runs()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def _earlier_runs() -> list[dict[str, Any]]:
    """Return the previous results file's run first, then its own earlier runs (20 kept):
    figures on a shared machine are compared across runs, not read alone."""
    if not RESULTS.is_file():
        return []
    old = json.loads(RESULTS.read_text())
    previous = {key: old[key] for key in ("date", "accuracy", "cost", "note") if key in old}
    return [previous, *old.get("earlier_runs", [])][:20]


if __name__ == "__main__":
    main()
