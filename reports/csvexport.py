"""The report as CSV rows: one row per day, then one per agent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from .figures import CHANNELS


def report_rows(data: dict[str, Any]) -> Iterator[list[Any]]:
    """Yield the rows of the report's CSV (a header row first in each part)."""
    weeks = {w: i for i, w in enumerate(data["weeks"])}
    excluded = "included" if data["include_excluded"] else "excluded"
    yield ["# days in", data["zone"], "from", data["first"], "until", data["last"]]
    yield ["# tickets cloned by the customer and merged tickets", excluded]
    yield [
        "day",
        *(f"in_{c}" for c in CHANNELS),
        *(f"solved_{c}" for c in CHANNELS),
        "week",
        "week_first_response_met_pct",
        "week_first_response_breaches",
        "week_resolution_met_pct",
        "week_resolution_breaches",
        "week_first_response_median_business_hours",
        "week_first_response_p90_business_hours",
        "duplicates_flagged",
        "merged",
        "kb_articles_shown",
        "kb_helpful_yes",
        "kb_helpful_no",
        "week_csat_ratings",
        "week_csat_satisfied_pct",
    ]
    for index, day in enumerate(data["days"]):
        start = date.fromisoformat(day)
        monday = (start - timedelta(days=start.weekday())).isoformat()
        w = weeks[monday]
        yield [
            day,
            *(data["created"][c][index] for c in CHANNELS),
            *(data["solved"][c][index] for c in CHANNELS),
            monday,
            data["sla"]["fr_met_pct"][w],
            data["sla"]["fr_breached"][w],
            data["sla"]["res_met_pct"][w],
            data["sla"]["res_breached"][w],
            data["frt"]["median_hours"][w],
            data["frt"]["p90_hours"][w],
            data["duplicates"]["flagged"][index],
            data["duplicates"]["merged"][index],
            data["kb"]["shown"][index],
            data["kb"]["helpful_yes"][index],
            data["kb"]["helpful_no"][index],
            data["csat"]["weekly_ratings"][w],
            data["csat"]["weekly_satisfied_pct"][w],
        ]
    yield []
    yield ["agent", "open_tickets_now", "replies", "solved"]
    agents = data["agents"]
    for i, name in enumerate(agents["names"]):
        yield [name, agents["load"][i], agents["replies"][i], agents["solved"][i]]
    yield []
    yield ["csat_score", "ratings"]
    for score, count in enumerate(data["csat"]["by_score"], start=1):
        yield [score, count]
