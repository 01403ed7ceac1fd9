"""The figures a dashboard or report shows, read from the daily rollups (and, for what is
open right now, from the facts of open tickets): never a scan of the tickets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from supportdesk.db_router import on_replica, read_connection
from tickets.models import Channel

from .contributions import DUPLICATE_METRICS, FRT_EDGES_MINUTES, FRT_PREFIX, report_zone
from .models import UNSOLVED, DailyFigure
from .open_now import open_by_status_and_age, open_per_assignee

CHANNELS = [c for c in Channel.values if c != Channel.NOTE]
AGE_BUCKETS = (  # (key, upper bound in days)
    ("lt1d", 1),
    ("1to3d", 3),
    ("3to7d", 7),
    ("7to30d", 30),
    ("gt30d", None),
)
SATISFIED = (4, 5)
AGENT_METRICS = (
    "replies",
    "solved_by",
)  # counted per agent, not per channel  # CSAT %: ratings of 4 or 5 out of 5


def age_bucket(age: timedelta) -> str:
    days = age.total_seconds() / 86400
    for key, upper in AGE_BUCKETS:
        if upper is None or days < upper:
            return key
    return AGE_BUCKETS[-1][0]


@dataclass(frozen=True)
class Scope:
    """Whose figures: one support line, one department, or the whole desk."""

    line_id: int | None = None
    department_id: int | None = None

    def q(self) -> Q:
        if self.line_id is not None:
            return Q(line_id=self.line_id)
        if self.department_id is not None:
            return Q(department_id=self.department_id)
        return Q()


def percentile_minutes(counts: dict[int, int], share: float) -> float | None:
    """Return the ``share`` quantile (0.5, 0.9) of a first-response histogram in minutes,
    interpolated inside its bucket (the last, open bucket gives its lower edge)."""
    total = sum(counts.values())
    if not total:
        return None
    rank = share * total
    seen = 0
    for index in range(len(FRT_EDGES_MINUTES) + 1):
        here = counts.get(index, 0)
        if here and seen + here >= rank:
            low = FRT_EDGES_MINUTES[index - 1] if index else 0
            if index >= len(FRT_EDGES_MINUTES):
                return float(low)
            high = FRT_EDGES_MINUTES[index]
            return low + (high - low) * (rank - seen) / here
        seen += here
    return float(FRT_EDGES_MINUTES[-1])


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _hours(minutes: float | None) -> float | None:
    return round(minutes / 60, 2) if minutes is not None else None


@on_replica  # dashboards and reports tolerate a few seconds of lag
def figures(
    scope: Scope, first: date, last: date, *, include_excluded: bool = False
) -> dict[str, Any]:
    """Return every figure of the dashboard for days ``first``..``last`` (report zone)."""
    rows, by_agent = _sums(scope, first, last, include_excluded=include_excluded)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    weeks = sorted({week_of(d) for d in days})
    created: dict[str, defaultdict[date, int]] = {c: defaultdict(int) for c in CHANNELS}
    solved: dict[str, defaultdict[date, int]] = {c: defaultdict(int) for c in CHANNELS}
    weekly: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    hist_week: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    hist_all: dict[int, int] = defaultdict(int)
    daily: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    replies: dict[int, int] = defaultdict(int)
    solved_by: dict[int, int] = defaultdict(int)
    csat_counts: dict[int, int] = defaultdict(int)
    csat_week: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    backlog_history: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for day, metric, channel, total in rows:
        week = week_of(day)
        if metric == "created" and channel in created:
            created[channel][day] += total
        elif metric == "solved":
            if channel in solved:
                solved[channel][day] += total
        elif metric.startswith(("fr_", "res_")):
            weekly[metric][week] += total
            daily[metric][day] += total
        elif metric.startswith(FRT_PREFIX):
            bucket = int(metric[len(FRT_PREFIX) :])
            hist_week[week][bucket] += total
            hist_all[bucket] += total
        elif metric.startswith("csat_"):
            score = int(metric[5:])
            csat_counts[score] += total
            csat_week[week][score] += total
        elif metric.startswith("backlog_"):
            status = metric[len("backlog_") :].rsplit("_", 1)[0]
            backlog_history[status][day] += total
        else:
            daily[metric][day] += total
    for metric, agent, total in by_agent:
        target = replies if metric == "replies" else solved_by
        target[agent] += total
    return {
        "zone": report_zone().key,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "include_excluded": include_excluded,
        "days": [d.isoformat() for d in days],
        "created": {c: [created[c][d] for d in days] for c in CHANNELS},
        "solved": {c: [solved[c][d] for d in days] for c in CHANNELS},
        "weeks": [w.isoformat() for w in weeks],
        "sla": _sla_weeks(weekly, weeks),
        "frt": {
            "median_hours": [_hours(percentile_minutes(hist_week[w], 0.5)) for w in weeks],
            "p90_hours": [_hours(percentile_minutes(hist_week[w], 0.9)) for w in weeks],
            "overall_median_hours": _hours(percentile_minutes(hist_all, 0.5)),
            "overall_p90_hours": _hours(percentile_minutes(hist_all, 0.9)),
            "responses": sum(hist_all.values()),
        },
        "backlog": backlog_now(scope),
        "backlog_history": {
            s: [backlog_history[s][d] for d in days] for s in UNSOLVED if backlog_history[s]
        },
        "agents": _agents(scope, replies, solved_by),
        "duplicates": {
            "flagged": [daily["dup_flagged"][d] for d in days],
            "merged": [daily["merged"][d] for d in days],
        },
        "kb": {
            "shown": [daily["kb_shown"][d] for d in days],
            "helpful_yes": [daily["kb_helpful_yes"][d] for d in days],
            "helpful_no": [daily["kb_helpful_no"][d] for d in days],
            "submitted": [sum(created[c][d] for c in (Channel.PORTAL, Channel.CHAT)) for d in days],
        },
        "csat": _csat(csat_counts, csat_week, weeks),
        "totals": {
            **_totals(created, solved, weekly, daily, csat_counts),
            "replies": sum(replies.values()),
        },
    }


def _sums(
    scope: Scope, first: date, last: date, *, include_excluded: bool
) -> tuple[list[tuple[date, str, str, int]], list[tuple[str, int, int]]]:
    """Return the rollups' sums over the days: per day, metric and channel (the charts and
    weekly figures; channel "" for the metrics kept without one) and, for the metrics
    counted per agent, per agent. One read of the days' rows, summed both ways at once
    (GROUPING SETS on PostgreSQL): three queries read the same ~10,000 rows of eight
    weeks three times, half of a dashboard's database time."""
    table = DailyFigure._meta.db_table
    where = ["day >= %s", "day <= %s"]
    params: list[Any] = [first, last]
    if scope.line_id is not None or scope.department_id is not None:
        # Knowledge-base figures belong to no line or department: every dashboard shows them.
        column = "line_id" if scope.line_id is not None else "department_id"
        where.append(f"({column} = %s OR metric LIKE 'kb\\_%%' ESCAPE '\\')")
        params.append(scope.line_id if scope.line_id is not None else scope.department_id)
    if not include_excluded:
        where.append(f"(NOT excluded OR metric IN ({', '.join(['%s'] * len(DUPLICATE_METRICS))}))")
        params += sorted(DUPLICATE_METRICS)
    per_agent = f"metric IN ({', '.join(['%s'] * len(AGENT_METRICS))})"
    connection = read_connection()
    if connection.vendor == "postgresql":
        sql = (
            "SELECT day, metric, channel, agent_id, GROUPING(day), sum(value) "  # noqa: S608 - fixed names; values are parameters
            f"FROM {table} WHERE {' AND '.join(where)} "
            "GROUP BY GROUPING SETS ((day, metric, channel), (metric, agent_id)) "
            f"HAVING (GROUPING(day) = 0) <> ({per_agent})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *AGENT_METRICS])
            fetched = cursor.fetchall()
    else:  # SQLite (the embedded desk): one grouping, summed the second way here
        sql = (
            "SELECT day, metric, channel, agent_id, 0, sum(value) "  # noqa: S608 - fixed names; values are parameters
            f"FROM {table} WHERE {' AND '.join(where)} GROUP BY day, metric, channel, agent_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = _both_ways(cursor.fetchall())
    rows = [
        (_day(day), metric, channel, int(total))
        for day, metric, channel, _a, g, total in fetched
        if not g
    ]
    by_agent = [(metric, agent, int(total)) for _d, metric, _c, agent, g, total in fetched if g]
    return rows, by_agent


def _both_ways(fetched: list[tuple]) -> list[tuple]:
    """Return rows grouped per (day, metric, channel, agent) as GROUPING SETS would: per
    day, metric and channel for the metrics not counted per agent, per agent for those."""
    per_day: dict[tuple, int] = defaultdict(int)
    per_agent: dict[tuple, int] = defaultdict(int)
    for day, metric, channel, agent, _g, total in fetched:
        if metric in AGENT_METRICS:
            per_agent[(metric, agent)] += total
        else:
            per_day[(day, metric, channel)] += total
    return [(d, m, c, None, 0, t) for (d, m, c), t in per_day.items()] + [
        (None, m, None, a, 1, t) for (m, a), t in per_agent.items()
    ]


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _sla_weeks(weekly: dict[str, dict[date, int]], weeks: list[date]) -> dict[str, list]:
    out: dict[str, list] = {}
    for short in ("fr", "res"):
        out[f"{short}_met_pct"] = [
            _pct(weekly[f"{short}_met"][w], weekly[f"{short}_total"][w]) for w in weeks
        ]
        out[f"{short}_breached"] = [weekly[f"{short}_breached"][w] for w in weeks]
        out[f"{short}_total"] = [weekly[f"{short}_total"][w] for w in weeks]
    return out


def _csat(counts: dict[int, int], per_week: dict[date, dict[int, int]], weeks: list[date]):
    def summary(c: dict[int, int]) -> tuple[int, float | None, float | None]:
        n = sum(c.values())
        average = round(sum(s * v for s, v in c.items()) / n, 2) if n else None
        return n, average, _pct(sum(c.get(s, 0) for s in SATISFIED), n)

    n, average, satisfied = summary(counts)
    return {
        "ratings": n,
        "average": average,
        "satisfied_pct": satisfied,
        "by_score": [counts.get(s, 0) for s in range(1, 6)],
        "weekly_satisfied_pct": [summary(per_week[w])[2] for w in weeks],
        "weekly_ratings": [summary(per_week[w])[0] for w in weeks],
    }


def _totals(created, solved, weekly, daily, csat_counts) -> dict[str, Any]:
    def total(metric: str) -> int:
        return sum(weekly[metric].values())

    return {
        "created": sum(sum(v.values()) for v in created.values()),
        "solved": sum(sum(v.values()) for v in solved.values()),
        "fr_met_pct": _pct(total("fr_met"), total("fr_total")),
        "fr_breached": total("fr_breached"),
        "res_met_pct": _pct(total("res_met"), total("res_total")),
        "res_breached": total("res_breached"),
        "dup_flagged": sum(daily["dup_flagged"].values()),
        "merged": sum(daily["merged"].values()),
        "ratings": sum(csat_counts.values()),
    }


def backlog_now(scope: Scope) -> dict[str, Any]:
    """Return the open tickets now by status and age (``reports.open_now``)."""
    counts = open_by_status_and_age(scope.q(), timezone.now(), AGE_BUCKETS)
    return {"ages": [k for k, _ in AGE_BUCKETS], "counts": counts}


def _agents(scope: Scope, replies: dict[int, int], solved_by: dict[int, int]) -> dict[str, list]:
    load = open_per_assignee(scope.q())
    ids = sorted(set(load) | set(replies) | set(solved_by) - {0})
    names = {
        u.pk: u.get_full_name() or u.get_username()
        for u in get_user_model().objects.filter(pk__in=ids)
    }
    ids = sorted(ids, key=lambda i: (-load.get(i, 0), -replies.get(i, 0), names.get(i, "")))
    return {
        "names": [names.get(i, f"#{i}") for i in ids],
        "load": [load.get(i, 0) for i in ids],
        "replies": [replies.get(i, 0) for i in ids],
        "solved": [solved_by.get(i, 0) for i in ids],
    }
