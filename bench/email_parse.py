"""Benchmark email parsing: our parse_email (compat32) against the stdlib policy.default.

Run from the repository root:  python bench/email_parse.py [--rounds N]
Messages: the Zammad corpus (../shared/corpus/zammad-mail or $SUPPORTDESK_EMAIL_CORPUS) plus
tests/fixtures/email/*.eml. Writes bench/results/email_parse.json.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.policy import compat32, default
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels_app.email.parsing import EmailParseError, parse_email  # noqa: E402

CORPUS = Path(
    os.environ.get("SUPPORTDESK_EMAIL_CORPUS") or ROOT.parent / "shared" / "corpus" / "zammad-mail"
)
FIXTURES = ROOT / "tests" / "fixtures" / "email"
RESULTS = ROOT / "bench" / "results" / "email_parse.json"


def load_messages() -> list[bytes]:
    """Return the raw bytes of every corpus and fixture message."""
    paths = sorted(CORPUS.glob("*.eml")) + sorted(FIXTURES.glob("*.eml"))
    return [path.read_bytes() for path in paths]


def stdlib_compat32_structure(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=compat32)


def stdlib_default_structure(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=default)


def stdlib_default_full(raw: bytes) -> object:
    """Extract roughly what parse_email does, using the modern EmailMessage API."""
    msg = email.message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    result: dict[str, object] = {}
    try:
        result["headers"] = [str(msg.get(h, "")) for h in ("subject", "from", "to", "cc", "date")]
        body = msg.get_body(preferencelist=("plain", "html"))
        result["body"] = body.get_content() if body is not None else ""
        result["attachments"] = [part.get_content() for part in msg.iter_attachments()]
    except Exception as exc:  # noqa: BLE001 - the modern API raises on many real mails
        result["error"] = repr(exc)
    return result


def ours(raw: bytes) -> object:
    try:
        return parse_email(raw)
    except EmailParseError as exc:
        return exc


def measure(fn: Callable[[bytes], object], messages: list[bytes], rounds: int) -> dict:
    """Return median µs per message and messages per second over all rounds."""
    for raw in messages:  # warm caches (codec lookups, regex compilation)
        fn(raw)
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in messages:
            t0 = time.perf_counter_ns()
            fn(raw)
            samples.append((time.perf_counter_ns() - t0) / 1000)
    elapsed = time.perf_counter() - started
    return {
        "median_us": round(statistics.median(samples), 1),
        "p95_us": round(statistics.quantiles(samples, n=20)[-1], 1),
        "mean_us": round(statistics.fmean(samples), 1),
        "msgs_per_s": round(len(samples) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    messages = load_messages()
    if not messages:
        sys.exit(f"no messages found in {CORPUS} or {FIXTURES}")
    variants = {
        "parse_email (ours, compat32 + own decoding)": ours,
        "stdlib compat32: structure only": stdlib_compat32_structure,
        "stdlib policy.default: structure only": stdlib_default_structure,
        "stdlib policy.default: headers + get_body + attachments": stdlib_default_full,
    }
    results = {name: measure(fn, messages, args.rounds) for name, fn in variants.items()}
    print(f"{len(messages)} messages x {args.rounds} rounds, Python {platform.python_version()}")
    print(f"{'variant':58} {'median µs':>10} {'p95 µs':>9} {'msgs/s':>9}")
    for name, row in results.items():
        print(f"{name:58} {row['median_us']:>10} {row['p95_us']:>9} {row['msgs_per_s']:>9}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "measured_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "messages": len(messages),
        "corpus_messages": len(list(CORPUS.glob("*.eml"))),
        "rounds": args.rounds,
        "results": results,
    }
    RESULTS.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
