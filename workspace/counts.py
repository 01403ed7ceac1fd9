"""The sidebar's counts, kept per process until the lists' read model changes.

Every open workspace page polls its counts (``views.lists.counts``): one statement counting
every view of the agent's sidebar, ~1.2 ms of PostgreSQL at 1,000,000 tickets plus the
Python around it (bench/desk.py). Between two changes of ``TicketRow`` the answer for
one agent and one sidebar is the same, except where time alone moves a ticket (a due
moment passing: "breached", "at risk"). So the counts are kept, per process, and used
again only while all of this holds:

* the **version** is the same: a PostgreSQL sequence moved by ``changed()`` after every
  write of the read model (``workspace.rows``), read in the sidebar's statement of the
  same poll (no extra round trip). It moves after the commit, so a poll that read the
  old version before a change counts at worst the new rows under the old version, and
  the next poll reads the new version: counts are never kept across a change;
* the moment is before the **next due** of any unsolved row (read with the counts), the
  first moment a count can change without a write;
* the entry is younger than ``SUPPORTDESK_COUNTS_SECONDS`` (a change written to the
  table by something other than ``workspace.rows``, e.g. an SQL session, shows within
  that long); ``0`` turns keeping off (the bench's ``--no-counts-cache``, the uncached
  figure).

The key names the signed-in agent (the principal) and every counted view's key and
filters; the caller checked the agent's permission before. Not kept with a read replica
(its counts may lag the primary's version) nor without PostgreSQL (no sequence).

What it is worth: an agent's page polls every 20 s, so with tickets changing every few
seconds nearly every real poll is a miss (and costs what it did before plus a dict
look-up); it pays where polls come faster than changes: many open tabs, a quiet desk,
the bench's one agent polling hundreds of times a second.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime
from threading import Lock
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from supportdesk.db_router import replica_alias

from . import queues

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SEQUENCE = queues.COUNTS_SEQUENCE  # migration 0010
LIMIT = 2000  # entries per process (agents × sidebars), the oldest dropped first


class _Entry(NamedTuple):
    version: int
    until: datetime | None  # the next due of an unsolved row; None: no count follows time
    expires: float  # time.monotonic()
    counts: dict[str, int]


_kept: OrderedDict[Hashable, _Entry] = OrderedDict()
_lock = Lock()


def changed() -> None:
    """Move the version: call after writing ``TicketRow`` rows. Inside a transaction it
    moves now (this connection already sees the change) and again after the commit
    (when the other processes see it)."""
    if connection.vendor != "postgresql":
        return
    _next()
    if connection.in_atomic_block:
        transaction.on_commit(_next)


def _next() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval('{SEQUENCE}')")


def kept_counts(
    views: list[queues.View], user: User, now: datetime, version: int | None
) -> dict[str, int]:
    """``queues.bounded_counts(views, user, now)``, kept while ``version`` (the sidebar
    statement's) and the moment allow it (see the module's docstring)."""
    seconds = settings.SUPPORTDESK_COUNTS_SECONDS
    if not seconds or version is None or replica_alias() != DEFAULT_DB_ALIAS:
        return queues.bounded_counts(views, user, now)
    key = (user.pk, tuple((view.key, view.filters) for view in views))
    with _lock:
        entry = _kept.get(key)
    if (
        entry is not None
        and entry.version == version
        and (entry.until is None or now < entry.until)
        and time.monotonic() < entry.expires
    ):
        return dict(entry.counts)
    timed = any(view.filters.sla for view in views)
    counts, until = queues.bounded_counts_until(views, user, now, timed=timed)
    with _lock:
        _kept[key] = _Entry(version, until, time.monotonic() + seconds, counts)
        _kept.move_to_end(key)
        while len(_kept) > LIMIT:
            _kept.popitem(last=False)
    return dict(counts)


def clear() -> None:
    with _lock:
        _kept.clear()
