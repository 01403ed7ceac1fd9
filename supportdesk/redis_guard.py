"""Redis speeds pages up; it is never what a page depends on.

Sessions (``cached_db``) and the ticket lists' cache call Redis through ``cache_call``:
an error or a timeout (the clients have socket and connect timeouts, see settings) gives
the caller its fallback — the database — and marks Redis down in this process for
``SUPPORTDESK_REDIS_RETRY_SECONDS``, so a stopped or frozen Redis costs one timeout per
process and pause, not one per cache call of every request. The first call after the
pause tries Redis again.

A write that must not be lost while Redis is away — a session deleted at sign-out, a
ticket list's version moved on — is kept (``retry=True``) and sent again, in order, by
the first call that finds Redis back, so a thawed Redis does not go on serving what was
deleted or outdated meanwhile. (Another process may read it in between: the entries'
expiry is the last net.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

log = logging.getLogger(__name__)
T = TypeVar("T")

_lock = threading.Lock()
_down_until = 0.0
_PENDING_MAX = 10_000  # writes kept for a Redis that is away (the oldest are dropped)
_pending: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []


def is_down() -> bool:
    """Whether an error marked Redis down in this process within the retry pause."""
    return time.monotonic() < _down_until


def mark_down(exc: BaseException) -> None:
    """Skip Redis for the retry pause after ``exc`` (logged once per pause)."""
    global _down_until
    with _lock:
        first = not is_down()
        _down_until = time.monotonic() + settings.SUPPORTDESK_REDIS_RETRY_SECONDS
    if first:
        log.warning("Redis unavailable (%s): using the database for a while", exc)


def mark_up() -> None:
    global _down_until
    _down_until = 0.0


def cache_call(
    fn: Callable[..., T], *args: Any, default: Any = None, retry: bool = False, **kwargs: Any
) -> T | Any:
    """Return ``fn(*args, **kwargs)``, or ``default`` while Redis is down or failing.

    ``retry``: an idempotent-enough write to send again once Redis is back if it fails.
    """
    if is_down():
        if retry:
            _keep(fn, args, kwargs)
        return default
    try:
        flush_pending()
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - connection, timeout, or a reply we cannot read
        mark_down(exc)
        if retry:
            _keep(fn, args, kwargs)
        return default


def _keep(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with _lock:
        _pending.append((fn, args, kwargs))
        del _pending[:-_PENDING_MAX]


def flush_pending() -> None:
    """Send the kept writes, oldest first; raise (keeping the rest) if Redis fails again."""
    while _pending:
        with _lock:
            if not _pending:
                return
            fn, args, kwargs = _pending[0]
        fn(*args, **kwargs)
        with _lock:
            if _pending and _pending[0][0] is fn and _pending[0][1] is args:
                del _pending[0]
