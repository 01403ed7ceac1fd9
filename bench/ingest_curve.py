"""The worker scaling curve (issue 18): ``bench/ingest.py`` with 1, 2 and 4 worker
processes on the same database, broker and mail mix, one after the other.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_ingest_bench \\
        REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/ingest_curve.py \\
        [--workers 1,2,4] [--emails 1000] [--runs 3]

Each point is a fresh ``bench/ingest.py --concurrency N`` (its own worker, prefork with N
processes; no peer, no webhook runs) on the same database, which grows by the same mix at
every point: each invocation numbers its mails after the earlier ones'
(``bench/mailmix.py``), so a later point never re-sends an earlier point's mails (which
duplicate detection would merge: the curve would measure merging, not processes). Prints
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest_curve.json"


def point(workers: int, emails: int, runs: int) -> dict:
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
