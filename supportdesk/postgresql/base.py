"""Django's PostgreSQL backend with a health check that needs no round trip while the
server has sent nothing.

With ``conn_health_checks`` (settings.py), Django checks a kept connection before the
first query of every request with ``SELECT 1``: a round trip to PostgreSQL on every page
and every counts poll (~0.2 ms of wall time, and a statement for the server to parse
and run). A connection the server closed (a restart, ``pg_terminate_backend``, an idle
timeout) has something to read on its socket: the server's goodbye or the end of the
stream. An idle connection in good order has nothing. So the check first asks the kernel
whether the socket is readable (no round trip); only if it is does it run Django's
``SELECT 1``, which then fails on a closed connection and Django reconnects, as before.
A connection that died without a word (a network path cut) is not caught by either
check until the query's own timeout.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper


class DatabaseWrapper(PostgresWrapper):
    def is_usable(self) -> bool:
        db = self.connection
        if db is None or db.closed:
            return False
        try:
            # Between requests libpq has read every answer: anything readable now is
            # news from the server (its goodbye, end of stream, or a notification).
            readable = select.select([db.fileno()], [], [], 0)[0]
        except (OSError, ValueError):
            return False
        return not readable or super().is_usable()
