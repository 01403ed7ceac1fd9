"""The test of a column against a batch's values, for statements written by hand.

``supportdesk.sql.ids_test`` serves the other apps; ``tickets`` imports nothing outside
itself (tests/test_layering.py), so it keeps this one of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def values_test(values: Sequence[Any], vendor: str) -> tuple[str, list[Any]]:
    """Return the SQL test of a column against ``values`` (to follow the column) and its
    parameters: one array parameter on PostgreSQL, a placeholder a value elsewhere."""
    if vendor == "postgresql":
        return "= ANY(%s)", [list(values)]
    return "IN (" + ", ".join(["%s"] * len(values)) + ")", list(values)
