"""The worker scaling curve (issue 18): ``bench/ingest.py`` with 1, 2 and 4 worker
processes, each on a fresh database, with the same broker and mail mix, one after the other.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_ingest_bench \\
        REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/ingest_curve.py \\
        [--workers 1,2,4] [--emails 1000] [--runs 3]

Each point is a fresh ``bench/ingest.py --concurrency N`` (its own worker, prefork with N
processes; no peer, no webhook runs) on a fresh database of its own (``<name>_w<N>``,
dropped before and after), so every point starts from the same data. On one shared
database a later point found the earlier points' tickets: when every invocation numbered
its mails from 0 it re-sent them and duplicate detection merged them (the 2-process point
measured merging at 5× the CPU a mail; ``bench/mailmix.py`` now numbers each invocation
after the earlier ones), and even with new numbers it flags 4× as many possible
duplicates against them (the same resellers and problems): 35–45% more CPU a mail. Prints
emails/s end to end and with follow-ups (medians of the runs), the speed-up over one
process, the worker's CPU per mail (the figure a shared machine leaves trustworthy) and
the load average at each point's end; writes bench/results/ingest_curve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pgdb import drop_database  # bench/ is the script folder: sys.path[0]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest_curve.json"


def point_database(url: str, workers: int) -> str:
    """Return the URL of the point's own database: ``url``'s name + ``_w<workers>``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_w{workers}"))


def point(workers: int, emails: int, runs: int) -> dict:
    database = point_database(os.environ["DATABASE_URL"], workers)
    drop_database(database)  # a left-over from a stopped curve would be an earlier point
    try:
        return _point(workers, emails, runs, database)
    finally:
        drop_database(database)


def _point(workers: int, emails: int, runs: int, database: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="sd-curve-") as tmp:
        out = Path(tmp) / "ingest.json"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "ingest.py"),
                "--emails",
                str(emails),
                "--runs",
                str(runs),
                "--concurrency",
                str(workers),
                "--webhook-seconds",
                "0",
                "--latency-seconds",
                "0",
                "--peer-python",
                "/nonexistent",
                "--results",
                str(out),
            ],  # fmt: skip
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database},
            check=True,
        )
        result = json.loads(out.read_text())
    return {
        "workers": workers,
        "end_to_end_per_second": result["median_emails_per_second"],
        "with_followups_per_second": result["median_with_followups_per_second"],
        "worker_cpu_ms_per_email": result["median_worker_cpu_ms_per_email"],
        "runs": [r["ours"] for r in result["runs"]],
        "worker_peak_rss_mb_total": result["worker_peak_rss_mb_total"],
        "load_average_at_end": result["load_average_at_end"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL (PostgreSQL, a throwaway database) and REDIS_URL.")
    points = [point(int(n), args.emails, args.runs) for n in args.workers.split(",")]
    base = points[0]["end_to_end_per_second"] or 0
    base_f = points[0]["with_followups_per_second"] or 0
    for p in points:
        p["speedup"] = round(p["end_to_end_per_second"] / base, 2) if base else None
        p["speedup_with_followups"] = (
            round(p["with_followups_per_second"] / base_f, 2) if base_f else None
        )
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "emails_per_run": args.emails,
        "runs_per_point": args.runs,
        "points": points,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(
        "| worker processes | emails/s end to end | speed-up | with follow-ups | speed-up "
        "| worker CPU ms/mail | load avg (1/5/15) at end |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    for p in points:
        print(
            f"| {p['workers']} | {p['end_to_end_per_second']} | {p['speedup']}× "
            f"| {p['with_followups_per_second']} | {p['speedup_with_followups']}× "
            f"| {p['worker_cpu_ms_per_email']} | {p['load_average_at_end']} |"
        )


if __name__ == "__main__":
    main()
