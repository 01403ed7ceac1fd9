"""Fit text to a column's own size at the boundary, before it reaches the database.

A header or field longer than its column (a 300-character Content-Type) is a database
error on PostgreSQL that no retry can fix; it is cut to the size the model declares, so
the sizes live in one place (the model) and a migration that changes them changes this.
"""

from __future__ import annotations

from django.db import models


def max_length(model: type[models.Model], field: str) -> int | None:
    """Return the declared ``max_length`` of ``model.field`` (None for unbounded text)."""
    return getattr(model._meta.get_field(field), "max_length", None)


def fit(model: type[models.Model], field: str, value: str) -> str:
    """Return ``value`` cut to the column size of ``model.field``."""
    size = max_length(model, field)
    return value if size is None or len(value) <= size else value[:size]
