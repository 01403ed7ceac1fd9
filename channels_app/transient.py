"""Which processing errors are worth retrying.

Only errors that say "not now" are transient: the database connection was lost or
refused, a concurrent transaction got in the way (serialization failure, deadlock, lock
timeout), or the task ran out of time. Anything else (a value too long, a constraint, a
bug) fails the same way on every retry, so the record ends ``failed`` with the reason.
"""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available
# (lock_timeout, NOWAIT), the server shutting down or starting, too many connections.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})
# SQLite's words for a lock held by another connection past the busy timeout.
_SQLITE_BUSY = ("database is locked", "database table is locked")


def is_transient(exc: BaseException) -> bool:
    """Return whether ``exc`` may well not happen again on a later attempt."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return True  # a slow database; the attempt limit still bounds a mail that is slow
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__ or exc
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    if code:
        return code in TRANSIENT_SQLSTATES or code.startswith("08")  # 08: connection exception
    if type(cause).__module__.startswith("sqlite3"):
        return any(words in str(cause) for words in _SQLITE_BUSY)
    # A driver error without a server code: the connection itself failed or was lost.
    return True
