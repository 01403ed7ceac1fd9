"""Small helpers for statements written by hand (a plain cursor, no ORM), on PostgreSQL
and on the embedded SQLite alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime


def aware(value: Any) -> Any:
    """Return a datetime column read with a plain cursor as an aware datetime: PostgreSQL
    gives aware ones, SQLite naive UTC ones or text (the ORM would have converted both).
    Anything else (None, a date) is returned as it is."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def ids_test(ids: Sequence[int], vendor: str) -> tuple[str, list[Any]]:
    """Return the SQL test of a column against ``ids`` (to follow the column) and its
    parameters: one array parameter on PostgreSQL, a placeholder an id elsewhere."""
    if vendor == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return "IN (" + ", ".join(["%s"] * len(ids)) + ")", list(ids)
