"""Benchmark the whole email pipeline: store → parse → thread → contact → ticket,
side by side with django-helpdesk 2.6's ``get_email`` on the same files.

Run from the repository root against PostgreSQL and Redis (a throwaway database: the
script migrates it and adds tickets):

    python3 -m venv /tmp/helpdesk-venv
    /tmp/helpdesk-venv/bin/pip install 'django-helpdesk==2.6.1'
    DATABASE_URL=postgres://user@127.0.0.1:5432/sd_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/ingest.py [--emails 1000] [--runs 3] [--concurrency 2]

The script seeds tickets (untimed) and starts a real Celery worker (prefork,
``--concurrency`` processes) on a queue of its own. Each run writes N mails as .eml files
into a fresh directory — a quarter new tickets from verified reseller contacts, a quarter
from unknown senders, a quarter replies threading by In-Reply-To, a quarter by the subject
token; every tenth with a small attachment; numbered after any earlier invocation's mails
on the database, so a re-run never re-sends them (``bench/mailmix.py``) — then times
``manage.py ingest_email DIR`` (stored in chunks, queued, processed by the worker) until
the worker has turned the last record into a message ("end to end"), and until the
follow-up work the tickets queued (SLA clocks, duplicate detection) has drained too. The
peer (``bench/helpdesk_peer.py``, run with ``--peer-python``, default
/tmp/helpdesk-venv/bin/python; skipped with a message if that python is missing) processes
the same directory with SQLite, as its documentation sets it up. Worker peak RSS is
sampled throughout. Acknowledgements go to Django's dummy mail backend (sending is not
what is measured). Writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailmix import SEED_OFFSET, first_number, mail, seed_source, workload  # bench/: sys.path[0]
from pgdb import backend_cpu_ms, create_database, server_cpu_ms
from webhook_load import WEB_WORKERS, body, load_average, percentile, post_at_rate, start_web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = f"bench-{uuid.uuid4().hex[:8]}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
os.environ["SUPPORTDESK_CELERY_QUEUE"] = QUEUE
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
os.environ.setdefault("LOG_LEVEL", "WARNING")
# As production runs (the web bench's gunicorn too): DEBUG's query log is ~5% of a
# webhook delivery's CPU in process, and it ran in the worker's every query.
os.environ.setdefault("DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from channels_app.inbound import inbound_process, inbound_store  # noqa: E402
from channels_app.models import InboundRecord, InboundStatus  # noqa: E402
from sla.models import TicketSla  # noqa: E402
from supportdesk.queues import queue_names  # noqa: E402
from tickets.models import Account, Contact, ContactEmail, Ticket  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ingest.json"


def seed(count: int, first: int | None = None) -> list[tuple[str, str, str]]:
    """Create accounts, contacts and ``count`` tickets (untimed); return (message id,
    reference, sender) per ticket. ``first``: this invocation's first mail number (by
    default after the earlier invocations', ``mailmix.first_number``)."""
    first = first_number() if first is None else first
    for i in range(50):
        account, _ = Account.objects.get_or_create(
            reseller_id=str(200000 + i), defaults={"name": f"Reseller {i}"}
        )
        contact = Contact.objects.create(
            account=account, name=f"Owner {i}", role="owner", verified_at=datetime.now(UTC)
        )
        ContactEmail.objects.get_or_create(contact=contact, email=f"owner{i}@reseller.example")
    threads = []
    for i in range(count):
        sender = f"owner{i % 50}@reseller.example"
        n = first + SEED_OFFSET + i  # not a re-send of a measured mail or an earlier seed
        raw = mail(n, sender=sender, subject=f"Seed {n}")
        record, _ = inbound_store(
            channel="email", source=seed_source(QUEUE), raw=raw, enqueue=False
        )
        record = inbound_process(record.pk)
        threads.append((record.message.external_id, record.message.ticket.reference, sender))
    return threads


class RssSampler(threading.Thread):
    """Sample the resident memory of a process tree every 50 ms; keep the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_total, self.peak_single, self.running = pid, 0, 0, True

    def run(self) -> None:
        while self.running:
            sizes = [_rss(p) for p in [self.pid, *_children(self.pid)]]
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_single = max([self.peak_single, *sizes])
            time.sleep(0.05)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(p) for p in text.split()]
    return kids + [g for k in kids for g in _children(k)]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process tree has used so far: under a shared, loaded
    machine the figure that stays trustworthy where wall-clock rates do not."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def start_worker(concurrency: int, niceness: int = 0) -> subprocess.Popen:
    # ``nice``: the worker's batches yield the cores to gunicorn, so a webhook's ack never
    # waits behind ingest (docs/scaling.md "Queues"); ``nice`` execs, the pid stays.
    cmd = ["nice", "-n", str(niceness)] if niceness else []
    cmd += [sys.executable, "-m", "celery", "-A", "supportdesk", "worker",
           "--concurrency", str(concurrency), "--loglevel", "WARNING", "--without-heartbeat",
           "--without-mingle", "--without-gossip"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    time.sleep(4)  # the worker's startup is not what is measured
    return proc


def queued(broker: Any) -> int:
    """Return how many tasks wait on the bench's main and follow-up queues."""
    return sum(broker.llen(name) for name in queue_names(QUEUE))


# Work done after the mails' tickets, deadlines and flags are in place: the notes and
# mails announcing flags, problem proposals, the outbox and the report facts.
AFTER_THE_FACT = frozenset(
    {
        "duplicates.announce",
        "duplicates.propose",
        "outbox.send_mails",
        "outbox.requeue_mails",
        "reports.refresh_facts",
    }
)


def running(broker: Any) -> int:
    """Return how many tasks of the import itself are running or reserved: with acks_late
    a task stays in the broker's "unacked" hash until it has finished."""
    count = 0
    for raw in broker.hvals("unacked"):
        try:
            task = json.loads(raw)[0]["headers"]["task"]
        except (ValueError, LookupError, TypeError):
            task = None  # unreadable: count it, waiting a little longer is the safe side
        count += task not in AFTER_THE_FACT
    return count


def drain(worker: subprocess.Popen) -> None:
    """Wait until the worker has finished every queued task, announcements and outbox
    included (at most two minutes for the running ones), and a moment more."""
    from redis import Redis

    broker = Redis.from_url(settings.CELERY_BROKER_URL)
    while queued(broker):
        if worker.poll() is not None:
            sys.exit("the worker stopped; see its output above")
        time.sleep(0.1)
    deadline = time.perf_counter() + 120
    while broker.hlen("unacked") and time.perf_counter() < deadline:
        time.sleep(0.1)
    time.sleep(2)


def write_mails(folder: Path, mails: list[bytes]) -> None:
    folder.mkdir(parents=True)
    for number, raw in enumerate(mails, 1):
        (folder / f"{number:05d}.eml").write_bytes(raw)


def run_ours(folder: Path, source: str, worker: subprocess.Popen) -> dict[str, float | int]:
    """Import the folder through the worker; return the timings and what it made."""
    from redis import Redis

    from duplicates.models import TicketSignature

    broker = Redis.from_url(settings.CELERY_BROKER_URL)
    last_before = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    cpu_before = cpu_seconds(worker.pid)
    pg_before, redis_before = server_cpu_ms(), redis_cpu_ms(broker)
    started_at, started = time.time(), time.perf_counter()
    call_command("ingest_email", str(folder), source=source, stdout=open(os.devnull, "w"))
    stored = time.perf_counter() - started
    polling_before = backend_cpu_ms()  # the store is counted, this script's polling not
    records = InboundRecord.objects.filter(source=source)
    while records.filter(status=InboundStatus.RECEIVED).exists():
        if worker.poll() is not None:
            sys.exit("the worker stopped; see its output above")
        time.sleep(0.02)
    ingested = time.perf_counter() - started
    new = Ticket.objects.filter(pk__gt=last_before)
    new_count = new.count()
    # Follow-ups: the queue is empty and every new ticket has its duplicate signature and
    # SLA row (detection and the SLA recompute are the last things a new ticket queues).
    while (
        queued(broker)
        or TicketSignature.objects.filter(ticket__in=new).count() < new_count
        or TicketSla.objects.filter(ticket__in=new).count() < new_count
    ):
        time.sleep(0.05)
    # The last intake, SLA or detection task may still be running (signatures are filed
    # for a batch before its flags): wait for it, not a fixed time.
    deadline = time.perf_counter() + 30
    while running(broker) and time.perf_counter() < deadline:
        time.sleep(0.01)
    drained = time.perf_counter() - started
    worker_cpu = cpu_seconds(worker.pid) - cpu_before
    polling = (backend_cpu_ms() or 0.0) - (polling_before or 0.0)
    pg_after, redis_after = server_cpu_ms(), redis_cpu_ms(broker)
    pg_after = pg_after - polling if pg_after is not None else None
    statuses = {s: records.filter(status=s).count() for s in InboundStatus.values}
    total = records.count()
    return {
        "started_at": round(started_at, 1),
        "emails": total,
        "store_seconds": round(stored, 2),
        "end_to_end_seconds": round(ingested, 2),
        "emails_per_second": round(total / ingested, 1),
        "with_followups_seconds": round(drained, 2),
        "with_followups_per_second": round(total / drained, 1),
        "new_tickets": new_count,
        # The worker's CPU for the mails and their follow-ups (the database's is not in it).
        "worker_cpu_ms_per_email": round(1000 * worker_cpu / max(total, 1), 2),
        # The database server's and the broker's CPU over the same span (all their
        # processes; the import's store counts, this script's polling is left out).
        "pg_cpu_ms_per_email": _per(pg_before, pg_after, total),
        "redis_cpu_ms_per_email": _per(redis_before, redis_after, total),
        **{f"status_{k}": v for k, v in statuses.items()},
        "load_average": load_average(),
    }


def redis_cpu_ms(broker: Any) -> float:
    """CPU time (user + system, all its threads) the Redis server has used, in ms."""
    info = broker.info("cpu")
    return 1000 * (float(info["used_cpu_user"]) + float(info["used_cpu_sys"]))


def _per(before: float | None, after: float | None, count: int) -> float | None:
    if before is None or after is None:
        return None
    return round((after - before) / max(count, 1), 2)


def run_peer(python: str, folder: Path) -> dict | None:
    """Run django-helpdesk's get_email on the folder (once); None if its venv is missing."""
    if not Path(python).exists():
        print(f"peer skipped: {python} not found (see the docstring for the install line)")
        return None
    out = subprocess.run(
        [python, str(ROOT / "bench" / "helpdesk_peer.py"), str(folder)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ids(mails: list[bytes]) -> list[str]:
    from email.parser import BytesHeaderParser

    return [str(BytesHeaderParser().parsebytes(m)["Message-ID"]).strip("<>") for m in mails]


def run_burst(
    port: int,
    mails: list[bytes],
    rate: float,
    worker: subprocess.Popen,
    web_pid: int,
    log: Path | None = None,
) -> dict:
    """Post ``mails`` as webhooks at ``rate``/s, every 20th twice at once (an ESP retry
    storm); wait until all are processed; return ack times, lost and doubled. ``log``:
    write each delivery's times there (JSON lines, wall-clock seconds), to lay the slow
    acks beside the server's own logs."""
    from tickets.models import Message

    ids = _ids(mails)
    bodies = [body(m) for m in mails]
    floor = InboundRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    web_cpu = cpu_seconds(web_pid)
    client: dict[str, float] = {}
    plan = post_at_rate(port, bodies, rate, retry_every=20, client=client)
    web_cpu = cpu_seconds(web_pid) - web_cpu
    if log is not None:
        shift = time.time() - time.monotonic()
        with log.open("w") as out:
            for d in plan:
                times = {
                    "due": d.due + shift,
                    "sent": d.sent + shift,
                    "answered": d.answered + shift,
                    "done": d.done + shift,
                }
                line = {"index": d.index, "message_id": ids[d.index], "status": d.status}
                out.write(json.dumps({**line, **times}) + "\n")
    posted = time.monotonic()
    acked = [d for d in plan if d.status == 200]
    # The burst's records by id, not by their 6,000 Message-IDs: that IN list cost
    # PostgreSQL 35-70 ms a poll, ten polls a second while the worker caught up.
    records = InboundRecord.objects.filter(source="postmark", pk__gt=floor)
    deadline = time.monotonic() + 600
    while records.filter(status=InboundStatus.RECEIVED).exists() or records.count() < len(ids):
        if worker.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    processed_after = time.monotonic() - posted
    per_id: dict[str, int] = {}
    for ext in Message.objects.filter(external_id__in=ids).values_list("external_id", flat=True):
        per_id[ext] = per_id.get(ext, 0) + 1
    acks_ms = [1000 * (d.answered - d.sent) for d in acked]
    reads_ms = [1000 * (d.done - d.sent) for d in acked]
    lags_ms = [1000 * (d.answered - d.due) for d in acked]
    return {
        "mails": len(mails),
        "deliveries": len(plan),
        "rate_per_second": rate,
        "answered_200": len(acked),
        "not_200": len(plan) - len(acked),
        "ack_ms_p50": round(percentile(acks_ms, 50), 1),
        "ack_ms_p99": round(percentile(acks_ms, 99), 1),
        "ack_ms_max": round(max(acks_ms, default=float("nan")), 1),
        # Sent to read by the client thread (the ack time before the kernel's stamps):
        # adds the client's own wait for a core after the answer has arrived.
        "ack_read_ms_p50": round(percentile(reads_ms, 50), 1),
        "ack_read_ms_p99": round(percentile(reads_ms, 99), 1),
        # gunicorn's CPU (its workers) per request answered: the request's own cost.
        "web_cpu_ms_per_request": round(1000 * web_cpu / max(len(plan), 1), 2),
        "due_to_ack_ms_p99": round(percentile(lags_ms, 99), 1),
        # The client is Python on the same two cores: its own CPU, and its threads' time
        # runnable but waiting for a core, a delivery (Linux schedstat). Time a thread
        # waits between the answer's arrival and its clock is counted as ack time.
        "client_cpu_ms_per_request": round(client["cpu_ms"] / max(len(plan), 1), 2),
        "client_runq_ms_per_request": round(client["runq_ms"] / max(len(plan), 1), 2),
        "records_stored": records.count(),
        "records_failed": records.filter(status=InboundStatus.FAILED).count(),
        "lost": sum(1 for ext in ids if ext not in per_id),
        "doubled": sum(1 for n in per_id.values() if n > 1),
        "all_processed_seconds_after_last_post": round(processed_after, 1),
        "load_average": load_average(),
    }


def run_latency(port: int, rate: float, seconds: int, start: int) -> dict:
    """Post new-ticket mails at ``rate``/s; return the time from each post to its ticket
    with an SLA deadline (sampled every 50 ms)."""
    from tickets.models import Message

    mails = [
        mail(i, sender=f"late{i}@customer.example", subject=f"Deadline {i}")
        for i in range(start, start + int(rate * seconds))
    ]
    ids = _ids(mails)
    seen: dict[str, float] = {}
    running = True

    def sample() -> None:
        from django.db import connection

        pending = set(ids)
        while running or pending:
            found = Message.objects.filter(
                external_id__in=list(pending), ticket__sla__first_response_due__isnull=False
            ).values_list("external_id", flat=True)
            now = time.monotonic()
            for ext in found:
                seen[ext] = now
            pending -= set(seen)
            if not running and time.monotonic() > stop_by:
                break
            time.sleep(0.05)
        connection.close()

    stop_by = float("inf")
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    plan = post_at_rate(port, [body(m) for m in mails], rate)
    stop_by, running = time.monotonic() + 120, False
    sampler.join()
    latencies = [seen[ids[d.index]] - d.sent for d in plan if ids[d.index] in seen]
    return {
        "mails": len(mails),
        "rate_per_second": rate,
        "with_deadline": len(latencies),
        "missing": len(mails) - len(latencies),
        "seconds_p50": round(percentile(latencies, 50), 3),
        "seconds_p95": round(percentile(latencies, 95), 3),
        "seconds_max": round(max(latencies, default=float("nan")), 3),
        "sampling_ms": 50,
        "load_average": load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed-tickets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--worker-nice", type=int, default=10, help="the worker's niceness (0: as the web)"
    )
    parser.add_argument("--peer-python", default="/tmp/helpdesk-venv/bin/python")  # noqa: S108
    parser.add_argument(
        "--web-workers", type=int, default=WEB_WORKERS, help="gunicorn's (production: 3)"
    )
    parser.add_argument("--webhook-rate", type=float, default=200)
    parser.add_argument("--webhook-seconds", type=int, default=30, help="0: no burst")
    parser.add_argument("--latency-rate", type=float, default=100)
    parser.add_argument("--latency-seconds", type=int, default=20, help="0: no latency run")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the JSON written")
    parser.add_argument("--burst-log", type=Path, help="each burst delivery's times (JSON lines)")
    args = parser.parse_args()
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine or not settings.CELERY_BROKER_URL.startswith("redis://"):
        sys.exit("Set DATABASE_URL (PostgreSQL, a throwaway database) and REDIS_URL.")
    create_database(os.environ["DATABASE_URL"])
    # A SIGTERM ends the run through the finally blocks: worker and gunicorn stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped (SIGTERM)"))
    call_command("migrate", verbosity=0)
    # After every earlier invocation's mails: a re-run on this database (each point of
    # bench/ingest_curve.py) must not re-send them, which duplicate detection would merge.
    first = first_number()
    threads = seed(args.seed_tickets, first)
    worker = start_worker(args.concurrency, args.worker_nice)
    sampler = RssSampler(worker.pid)
    sampler.start()
    drain(worker)  # the seed tickets' own follow-ups are not what is measured
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="sd-ingest-") as tmp:
            for number in range(args.runs):
                folder = Path(tmp) / f"run{number}"
                write_mails(folder, workload(args.emails, threads, first + number * args.emails))
                ours = run_ours(folder, f"import:bench-{QUEUE}-{number}", worker)
                drain(worker)  # the peer runs on an idle machine, not beside our last tasks
                peer = run_peer(args.peer_python, folder)
                runs.append({"ours": ours, "peer": peer})
                peer_rate = peer["per_second"] if peer else None
                print(
                    f"run {number + 1}: ours {ours['emails_per_second']}/s end to end "
                    f"({ours['with_followups_per_second']}/s with follow-ups), "
                    f"django-helpdesk {peer_rate}/s; CPU ms a mail: worker "
                    f"{ours['worker_cpu_ms_per_email']}, PostgreSQL {ours['pg_cpu_ms_per_email']}, "
                    f"Redis {ours['redis_cpu_ms_per_email']}; load {ours['load_average']}"
                )
        burst = latency = None
        if args.webhook_seconds or args.latency_seconds:
            port = _free_port()
            web = start_web(port, os.environ.copy(), workers=args.web_workers)
            try:
                drain(worker)
                if args.webhook_seconds:
                    count = int(args.webhook_rate * args.webhook_seconds)
                    start = first + (args.runs + 1) * args.emails
                    mails = workload(count, threads, start)
                    burst = run_burst(
                        port, mails, args.webhook_rate, worker, web.pid, args.burst_log
                    )
                    burst["web_workers"] = args.web_workers
                    print(f"webhook burst: {burst}")
                    drain(worker)
                if args.latency_seconds:
                    start = first + (args.runs + 1) * args.emails + 100_000
                    latency = run_latency(port, args.latency_rate, args.latency_seconds, start)
                    print(f"webhook to deadline: {latency}")
            finally:
                os.killpg(web.pid, 15)
                web.wait(timeout=30)
    finally:
        sampler.running = False
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)

    def median(key: str, side: str = "ours") -> float | None:
        values = [r[side][key] for r in runs if r[side] and r[side].get(key) is not None]
        return round(statistics.median(values), 1) if values else None

    ours_rate, peer_rate = median("emails_per_second"), median("per_second", "peer")
    followups_rate = median("with_followups_per_second")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "emails_per_run": args.emails,
        "runs": runs,
        "worker_concurrency": args.concurrency,
        "worker_nice": args.worker_nice,
        "first_mail_number": first,
        "batch_size": settings.SUPPORTDESK_INBOUND_BATCH,
        "median_emails_per_second": ours_rate,
        "median_with_followups_per_second": median("with_followups_per_second"),
        "median_worker_cpu_ms_per_email": median("worker_cpu_ms_per_email"),
        "median_pg_cpu_ms_per_email": median("pg_cpu_ms_per_email"),
        "median_redis_cpu_ms_per_email": median("redis_cpu_ms_per_email"),
        "median_peer_per_second": peer_rate,
        "ratio_to_peer": round(ours_rate / peer_rate, 1) if ours_rate and peer_rate else None,
        "ratio_with_followups_to_peer": (
            round(followups_rate / peer_rate, 1) if followups_rate and peer_rate else None
        ),
        "worker_peak_rss_mb_total": round(sampler.peak_total / 2**20, 1),
        "worker_peak_rss_mb_largest_process": round(sampler.peak_single / 2**20, 1),
        "webhook_burst": burst,
        "webhook_to_deadline": latency,
        "webhook_window_seconds": settings.SUPPORTDESK_WEBHOOK_WINDOW_SECONDS,
        "load_average_at_end": load_average(),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    # The newest run on top, the earlier ones kept under "earlier" (newest first).
    earlier: list[dict] = []
    if args.results.exists():
        previous = json.loads(args.results.read_text())
        earlier = [{k: v for k, v in previous.items() if k != "earlier"}]
        earlier += previous.get("earlier", [])
    args.results.write_text(json.dumps({**result, "earlier": earlier}, indent=2) + "\n")
    print()
    print(f"{'figure':44} {'value':>12}")
    rows = [
        ("SupportDesk end to end, emails/s (median)", ours_rate),
        ("  incl. SLA clocks + duplicate checks", result["median_with_followups_per_second"]),
        ("  worker CPU ms per email (median)", median("worker_cpu_ms_per_email")),
        ("  PostgreSQL CPU ms per email (median)", result["median_pg_cpu_ms_per_email"]),
        ("  Redis CPU ms per email (median)", result["median_redis_cpu_ms_per_email"]),
        ("django-helpdesk 2.6 get_email, emails/s", peer_rate),
        ("ratio (ours / peer)", result["ratio_to_peer"]),
        ("ratio with follow-ups (ours / peer)", result["ratio_with_followups_to_peer"]),
        ("worker peak RSS total, MB", result["worker_peak_rss_mb_total"]),
        ("worker peak RSS largest process, MB", result["worker_peak_rss_mb_largest_process"]),
    ]
    if burst:
        rows += [
            (f"webhook burst {burst['rate_per_second']:.0f}/s: ack p99 ms", burst["ack_ms_p99"]),
            ("  lost / doubled", f"{burst['lost']} / {burst['doubled']}"),
            ("  gunicorn CPU ms per request", burst["web_cpu_ms_per_request"]),
        ]
    if latency:
        rows += [(f"webhook to deadline at {latency['rate_per_second']:.0f}/s: p95 s",
                  latency["seconds_p95"])]  # fmt: skip
    rows.append(("load average at the end (1/5/15 min)", result["load_average_at_end"]))
    for label, value in rows:
        print(f"{label:44} {value!s:>12}")


if __name__ == "__main__":
    main()
