"""Reads that tolerate a few seconds of lag go to a read replica, when there is one.

``DATABASE_REPLICA_URL`` adds the ``replica`` database (a streaming replica of the
primary). Nothing goes there by default: a read opts in by calling ``replica_alias()``
(``Model.objects.using(replica_alias())``, ``connections[replica_alias()].cursor()``),
as search, reports and dashboards, and list counts do. Writes, and every read made
inside a transaction on the primary, stay on the primary, so a service never decides on
stale rows. Without a replica, ``replica_alias()`` is the primary: one-database desks
and the embedded default are unchanged.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"


def replica_alias() -> str:
    """Return the database alias for a lag-tolerant read."""
    if REPLICA not in settings.DATABASES:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS  # a read inside a write: the primary's own view
    return REPLICA


class PrimaryReplicaRouter:
    """Writes and migrations on the primary; reads there unless they ask for the replica."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return None  # the primary, unless the query names replica_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one data set: the replica is a copy of the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
