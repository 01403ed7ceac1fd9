"""The PostgreSQL health check before a request's first query (supportdesk/postgresql):
no round trip on a connection in good order, a connection the server closed is found."""

from __future__ import annotations

import select

import psycopg2
import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _last_statement(other, pid: int) -> str:
    with other.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def test_a_kept_connection_is_checked_without_a_statement_and_a_closed_one_is_found():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() AS health_marker")
        pid = cursor.fetchone()[0]
    other = psycopg2.connect(**connection.get_connection_params())
    other.autocommit = True
    try:
        assert connection.is_usable()
        # The server saw no statement since ours (Django's check was SELECT 1).
        assert "health_marker" in _last_statement(other, pid)

        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        # Wait for the server's goodbye to reach the socket (not a timing assertion).
        select.select([connection.connection.fileno()], [], [], 10)
        assert not connection.is_usable()
    finally:
        other.close()
    connection.close()
    with connection.cursor() as cursor:  # Django reconnects, as after any failed check
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
