"""The (value, label) pairs of the workspace's selects, read as plain tuples: pages
render them with the ``options`` tag, one call per select instead of a loop over model
instances."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext as _

from tickets.models import Severity, Status

from .queues import active_departments

# Read on every list and ticket page: plain SQL (see workspace/view_sql.py for why).
AGENTS_SQL = (
    'SELECT "id", "first_name", "last_name", "username" '  # noqa: S608
    f'FROM "{get_user_model()._meta.db_table}" WHERE "is_active" AND "is_staff" '
    'ORDER BY "username"'
)


def agent_choices() -> list[tuple[int, str]]:
    """Return (id, name) of the active agents, by username."""
    with connection.cursor() as cursor:
        cursor.execute(AGENTS_SQL)
        return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in cursor]


def department_choices() -> list[tuple[int, str]]:
    return [(pk, name) for pk, _slug, name in active_departments()]


def status_choices(only: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Return the statuses an agent may pick (``only`` those, if given), translated."""
    wanted = set(only) if only is not None else set(Status.values) - {Status.MERGED}
    return [(value, _(str(label))) for value, label in Status.choices if value in wanted]


def severity_choices() -> list[tuple[int, str]]:
    return [(value, _(str(label))) for value, label in Severity.choices]
