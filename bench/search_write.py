"""What the search index costs the email pipeline: the same kind of 1,000 mails processed
in batches (as the worker does) with the index written in their transactions, and with
the index's receivers disconnected, alternating, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_search_write \\
    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/search_write.py [--rounds 4]

bench/ingest.py measures the whole pipeline with a worker; on a shared machine its runs
differ by ±20%, more than the index costs. Here both variants run in one process, in
turns, on the same database, so the ratio shows the index's own share. Mails come from
bench/ingest.py's workload (new tickets, replies threaded both ways, attachments);
processing is ``channels_app.inbound.inbound_process_many`` in batches of
``SUPPORTDESK_INBOUND_BATCH``. Writes bench/results/search_write.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from pgdb import create_database  # bench/ is the script folder: sys.path[0]

create_database(os.environ.get("DATABASE_URL", ""))

import ingest  # noqa: E402 - bench/ingest.py: sets Django up on DATABASE_URL, makes the mails
from django.conf import settings  # noqa: E402

from channels_app.inbound import inbound_process_many, inbound_store_many  # noqa: E402
from search import indexing  # noqa: E402
from tickets.signals import messages_stored, tickets_stored  # noqa: E402


def process(mails: list[bytes], source: str) -> float:
    """Store the mails (untimed), then process them in batches; return seconds."""
    stored = inbound_store_many(channel="email", source=source, raws=mails, enqueue=False)
    ids = [record.pk for record, _ in stored]
    size = settings.SUPPORTDESK_INBOUND_BATCH
    started = time.perf_counter()
    for start in range(0, len(ids), size):
        inbound_process_many(ids[start : start + size])
    return time.perf_counter() - started


SPENT = [0.0]  # seconds spent in the index's receivers during a round


def _timed(receiver):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return receiver(*args, **kwargs)
        finally:
            SPENT[0] += time.perf_counter() - started

    return wrapper


TIMED_MESSAGES = _timed(indexing.index_messages)
TIMED_SUBJECTS = _timed(indexing.index_subjects)


def _connect(timed: bool) -> None:
    messages_stored.disconnect(dispatch_uid="search.index_messages")
    tickets_stored.disconnect(dispatch_uid="search.index_subjects")
    if timed:
        messages_stored.connect(TIMED_MESSAGES, dispatch_uid="search.index_messages")
        tickets_stored.connect(TIMED_SUBJECTS, dispatch_uid="search.index_subjects")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    threads = ingest.seed(200)
    timings: dict[str, list[float]] = {"with the index": [], "without": []}
    shares: list[float] = []
    number = 0
    for round_ in range(args.rounds):
        order = ("with the index", "without")
        for variant in order if round_ % 2 == 0 else order[::-1]:
            _connect(timed=variant == "with the index")
            SPENT[0] = 0.0
            try:
                mails = ingest.workload(args.emails, threads, start=number)
                number += args.emails
                seconds = process(mails, f"bench-write-{number}")
            finally:
                _connect(timed=False)
                messages_stored.connect(
                    indexing.index_messages, dispatch_uid="search.index_messages"
                )
                tickets_stored.connect(
                    indexing.index_subjects, dispatch_uid="search.index_subjects"
                )
            timings[variant].append(args.emails / seconds)
            note = ""
            if variant == "with the index":
                shares.append(SPENT[0] / seconds)
                note = f" ({100 * SPENT[0] / seconds:.1f}% of it writing the index)"
            print(
                f"round {round_ + 1}, {variant}: {args.emails / seconds:.1f} mails/s{note}",
                flush=True,
            )
    with_index = statistics.median(timings["with the index"])
    without = statistics.median(timings["without"])
    print()
    print(f"{'variant':<20} {'mails/s (median)':>18}")
    print(f"{'with the index':<20} {with_index:>18.1f}")
    print(f"{'without':<20} {without:>18.1f}")
    share = statistics.median(shares)
    print(f"time in the index's receivers: {100 * share:.1f}% of processing (median)")
    ingest.ROOT.joinpath("bench", "results", "search_write.json").write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M"),
                "emails_per_round": args.emails,
                "mails_per_second": timings,
                "median_with_index": round(with_index, 1),
                "median_without": round(without, 1),
                "index_share_of_processing_percent": round(100 * share, 1),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
