"""The (value, label) pairs of the workspace's selects, read as plain tuples: pages
render them with the ``options`` tag, one call per select instead of a loop over model
instances."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model
from django.utils.translation import gettext as _

from tickets.models import Department, Severity, Status

from . import memo
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


# The ticket page's agents and departments (its assignee and department selects, and the
# names its events mention) in one statement: the order of each part as in AGENTS_SQL and
# queues.DEPARTMENTS_SQL (by username; by name, then id).
AGENTS_AND_DEPARTMENTS_SQL = (
    'SELECT 0, "username", "id", "first_name", "last_name" '  # noqa: S608
    f'FROM "{get_user_model()._meta.db_table}" WHERE "is_active" AND "is_staff" '
    "UNION ALL SELECT 1, \"name\", \"id\", '', '' "
    f'FROM "{Department._meta.db_table}" WHERE "is_active" ORDER BY 1, 2, 3'
)


def agent_and_department_choices() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """``(agent_choices(), department_choices())``, read in one statement."""
    agents: list[tuple[int, str]] = []
    departments: list[tuple[int, str]] = []
    with connection.cursor() as cursor:
        cursor.execute(AGENTS_AND_DEPARTMENTS_SQL)
        for part, name, pk, first, last in cursor.fetchall():
            if part == 0:
                agents.append((pk, f"{first} {last}".strip() or name))
            else:
                departments.append((pk, name))
    return agents, departments


def department_choices() -> list[tuple[int, str]]:
    return [(pk, name) for pk, _slug, name in active_departments()]


def status_choices(only: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Return the statuses an agent may pick (``only`` those, if given), translated."""
    wanted = frozenset(only) if only is not None else _PICKABLE
    return list(_statuses(memo.language(), wanted))


def severity_choices() -> list[tuple[int, str]]:
    return list(_severities(memo.language()))


# Translated labels of fixed choices, per language (and set of statuses): asked for on every
# ticket page, where translating each lazy label cost ~0.5 ms. Cleared when settings that
# change translations do (tests: memo.cleared_with_settings).
_PICKABLE = frozenset(Status.values) - {Status.MERGED}


@memo.cleared_with_settings
@functools.lru_cache(maxsize=256)
def _statuses(language: str | None, wanted: frozenset[str]) -> tuple[tuple[str, str], ...]:
    return tuple((value, _(str(label))) for value, label in Status.choices if value in wanted)


@memo.cleared_with_settings
@functools.lru_cache(maxsize=16)
def _severities(language: str | None) -> tuple[tuple[int, str], ...]:
    return tuple((value, _(str(label))) for value, label in Severity.choices)


def display(instance: Model, name: str) -> str:
    """``instance.get_<name>_display()``, translated once per language, model and value:
    Django's makes every choice hashable and translates its label on every call (the
    ticket page shows three, ~4 % of its CPU)."""
    return _display(memo.language(), type(instance), name, getattr(instance, name))


@memo.cleared_with_settings
@functools.lru_cache(maxsize=512)
def _display(language: str | None, model: type[Model], name: str, value: Any) -> str:
    labels = dict(model._meta.get_field(name).flatchoices)  # type: ignore[union-attr]
    return str(labels.get(value, value))
