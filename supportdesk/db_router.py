"""Reads that tolerate a few seconds of lag go to a read replica, when there is one.

``DATABASE_REPLICA_URL`` adds the ``replica`` database (a streaming replica of the
primary). Nothing goes there by default: a read opts in, either one query at a time
(``Model.objects.using(replica_alias())``, ``read_connection().cursor()``) or for a whole
selector (``@on_replica`` / ``with replica_reads():``: every ORM read made inside goes
there through ``PrimaryReplicaRouter``), as search, reports and dashboards, and list
counts do. Writes, and every read made inside a transaction on the primary, stay on the
primary, so a service never decides on stale rows. Without a replica, ``replica_alias()``
is the primary: one-database desks and the embedded default are unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

REPLICA = "replica"


class _LagTolerant:
    """A lag-tolerant stretch of code, until it writes: from its first write on, its reads
    go to the primary (they may decide on, or show, what it just wrote)."""

    wrote = False


# Set while a lag-tolerant selector runs: the router then sends its ORM reads to the
# replica. A context variable, so that concurrent requests in threads never share it.
_lag_tolerant: ContextVar[_LagTolerant | None] = ContextVar(
    "supportdesk_lag_tolerant", default=None
)


def _reading_replica() -> bool:
    state = _lag_tolerant.get()
    return state is not None and not state.wrote


P = ParamSpec("P")
R = TypeVar("R")


def replica_alias() -> str:
    """Return the database alias for a lag-tolerant read."""
    if REPLICA not in settings.DATABASES:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS  # a read inside a write: the primary's own view
    return REPLICA


def read_alias() -> str:
    """Return where a read made here goes: the replica inside ``replica_reads()`` (and
    outside any write), else the primary."""
    return replica_alias() if _reading_replica() else DEFAULT_DB_ALIAS


def read_connection() -> BaseDatabaseWrapper:
    """Return the connection for a raw SQL read made here (see ``read_alias``)."""
    return connections[read_alias()]


@contextmanager
def replica_reads() -> Iterator[None]:
    """Send the ORM reads (and ``read_connection()``) made inside to the replica, until
    the first write made inside (reads in a transaction stay on the primary anyway)."""
    token = _lag_tolerant.set(_LagTolerant())
    try:
        yield
    finally:
        _lag_tolerant.reset(token)


def on_replica(function: Callable[P, R]) -> Callable[P, R]:
    """Run a read-only selector with its reads on the replica (``replica_reads``)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with replica_reads():
            return function(*args, **kwargs)

    return wrapper


class PrimaryReplicaRouter:
    """Writes and migrations on the primary; reads there unless they ask for the replica."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if REPLICA not in settings.DATABASES:
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            # A read inside a write: the primary, even through an object that a
            # lag-tolerant read loaded from the replica.
            return DEFAULT_DB_ALIAS
        if _reading_replica():
            return REPLICA
        # Elsewhere: the primary, unless the query names replica_alias() (Django keeps the
        # related reads of an object loaded from the replica there).
        return None

    def db_for_write(self, model: type, **hints: Any) -> str:
        if state := _lag_tolerant.get():
            state.wrote = True  # what follows may read what this writes, or its effects
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one data set: the replica is a copy of the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
