"""Benchmark sla.calendar.CalendarMath against the businesstimedelta package.

Run from the repository root:

    python bench/sla_calendar.py [--quick]

Both sides get the same calendar: Europe/Amsterdam, Monday to Friday 09:00-17:00, Dutch
public holidays 2025-2032 (from the `holidays` package when installed, else a fixed
list). Each figure is the median, over several runs, of the mean time per call over a
fixed set of inputs. Before timing, every result of ours is checked against
businesstimedelta's on the same inputs. Writes bench/results/sla_calendar.json.

businesstimedelta's limits, which keep the comparison to this plain calendar: it has no
working Saturdays or per-date hours, it uses pytz, its holiday rule looks at most five
years ahead (and then fails), and its loops step interval by interval, so the cost
grows with the delta.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time as clock
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sla.calendar import CalendarMath  # noqa: E402 - needs the path above

TZ = "Europe/Amsterdam"
ZONE = ZoneInfo(TZ)
OPEN, CLOSE = time(9), time(17)
# Used when the holidays package is missing: Dutch public holidays 2026.
FIXED_HOLIDAYS = {
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 5),
    date(2026, 4, 6),
    date(2026, 4, 27),
    date(2026, 5, 5),
    date(2026, 5, 14),
    date(2026, 5, 24),
    date(2026, 5, 25),
    date(2026, 12, 25),
    date(2026, 12, 26),
}


def load_holidays() -> tuple[set[date], str]:
    try:
        import holidays
    except ImportError:
        return FIXED_HOLIDAYS, "fixed list NL 2026"
    return set(holidays.NL(years=range(2025, 2033))), "holidays.NL 2025-2032"


def make_theirs(holiday_dates: set[date]) -> Callable[..., Any] | None:
    """Return businesstimedelta's rule set, or None when the package is missing."""
    try:
        import pytz
        from businesstimedelta import HolidayRule, Rules, WorkDayRule
    except ImportError:
        return None
    zone = pytz.timezone(TZ)
    workday = WorkDayRule(start_time=OPEN, end_time=CLOSE, working_days=[0, 1, 2, 3, 4], tz=zone)
    # A frozenset, not the holidays object: its membership test is the cheaper of the two.
    return Rules([workday, HolidayRule(frozenset(holiday_dates), tz=zone)])


def sample_starts(count: int, rng: random.Random) -> list[datetime]:
    """Return starts across 2026: mostly in office hours, some in the night or weekend."""
    starts = []
    first = datetime(2026, 1, 5, tzinfo=ZONE)
    for _ in range(count):
        day = first + timedelta(days=rng.randrange(300))
        if rng.random() < 0.8:
            minutes = rng.randrange(9 * 60, 17 * 60)
        else:
            minutes = rng.randrange(24 * 60)
        naive = datetime.combine(day.date(), time()) + timedelta(minutes=minutes)
        starts.append(naive.replace(tzinfo=ZONE))
    return starts


def time_per_call(call: Callable[[Any], Any], inputs: Sequence[Any], runs: int) -> float:
    """Return the median over `runs` of the mean microseconds per call over `inputs`."""
    samples = []
    for _ in range(runs):
        began = clock.perf_counter_ns()
        for value in inputs:
            call(value)
        samples.append((clock.perf_counter_ns() - began) / len(inputs) / 1000)
    return statistics.median(samples)


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer inputs and runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/sla_calendar.json")
    args = parser.parse_args()
    size, runs, their_runs = (50, 5, 3) if args.quick else (200, 31, 7)

    holiday_dates, holiday_source = load_holidays()
    ours = CalendarMath(TZ, {d: [(OPEN, CLOSE)] for d in range(5)}, closed_dates=holiday_dates)
    theirs = make_theirs(holiday_dates)
    if theirs is None:
        print(
            "businesstimedelta is not installed: timing ours only (pip install businesstimedelta)"
        )
    rng = random.Random(2026)
    starts = sample_starts(size, rng)
    short, long = timedelta(hours=1), timedelta(hours=500)
    pairs_short = [(s, s + timedelta(minutes=rng.randrange(1, 24 * 60))) for s in starts]
    pairs_long = [(s, s + timedelta(days=rng.randrange(60, 90))) for s in starts]

    began = clock.perf_counter_ns()
    ours.add(starts[0], short)  # the first call materialises three years
    cold_us = (clock.perf_counter_ns() - began) / 1000

    their_add_short = their_add_long = their_between = None
    if theirs is not None:
        from businesstimedelta import BusinessTimeDelta

        short_delta = BusinessTimeDelta(theirs, timedelta=short)
        long_delta = BusinessTimeDelta(theirs, timedelta=long)

        def their_add_short(s: datetime) -> datetime:
            return s + short_delta

        def their_add_long(s: datetime) -> datetime:
            return s + long_delta

        def their_between(pair: tuple[datetime, datetime]) -> timedelta:
            return theirs.difference(*pair).timedelta

    Op = tuple[str, Sequence[Any], Callable[[Any], Any], Callable[[Any], Any] | None]
    ops: list[Op] = [
        ("add 1h", starts, lambda s: ours.add(s, short), their_add_short),
        ("add 500h", starts, lambda s: ours.add(s, long), their_add_long),
        ("between ~1 day", pairs_short, lambda p: ours.between(*p), their_between),
        ("between ~60-90 days", pairs_long, lambda p: ours.between(*p), their_between),
        ("add_days 5", starts, lambda s: ours.add_days(s, 5), None),
    ]

    rows = []
    for name, inputs, our_call, their_call in ops:
        mismatches = None
        if their_call is not None:
            mismatches = sum(
                _as_utc(our_call(value)) != _as_utc(their_call(value)) for value in inputs
            )
        ours_us = time_per_call(our_call, inputs, runs)
        theirs_us = time_per_call(their_call, inputs, their_runs) if their_call else None
        rows.append(
            {
                "op": name,
                "ours_us": round(ours_us, 2),
                "theirs_us": round(theirs_us, 2) if theirs_us is not None else None,
                "ratio": round(theirs_us / ours_us, 1) if theirs_us is not None else None,
                "checked": len(inputs) if their_call else 0,
                "mismatches": mismatches,
            }
        )

    print(f"calendar: {TZ} Mon-Fri 09:00-17:00, holidays: {holiday_source}")
    print(f"inputs per op: {size}; runs: ours {runs}, theirs {their_runs}; median of means")
    print(f"first call (materialises 3 years): {cold_us:.0f} µs")
    print(f"{'op':<22}{'ours µs':>10}{'theirs µs':>12}{'ratio':>9}{'equal':>12}")
    for row in rows:
        theirs_text = f"{row['theirs_us']:.1f}" if row["theirs_us"] is not None else "n/a"
        ratio_text = f"{row['ratio']:.0f}x" if row["ratio"] is not None else "n/a"
        equal_text = (
            f"{row['checked'] - row['mismatches']}/{row['checked']}" if row["checked"] else "n/a"
        )
        print(
            f"{row['op']:<22}{row['ours_us']:>10.1f}{theirs_text:>12}{ratio_text:>9}"
            f"{equal_text:>12}"
        )

    result = {
        "benchmark": "sla_calendar",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "businesstimedelta": version("businesstimedelta"),
        "holidays": holiday_source,
        "inputs_per_op": size,
        "runs": {"ours": runs, "theirs": their_runs},
        "first_call_us": round(cold_us, 1),
        "ops": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    if any(row["mismatches"] for row in rows):
        sys.exit("results differ from businesstimedelta's")


def _as_utc(value: Any) -> Any:
    # Compare instants, not wall clocks: the two sides return datetimes in different tzinfos.
    return value.astimezone(UTC) if isinstance(value, datetime) else value


if __name__ == "__main__":
    main()
