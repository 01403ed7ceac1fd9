"""Shared by the bench scripts: the PostgreSQL database they fill (made, dropped) and the
CPU its server process has used (read from /proc when the server runs on this machine)."""

from __future__ import annotations

import os
from pathlib import Path


def create_database(url: str) -> None:
    """Create the database named in ``url`` unless it exists (connects to ``postgres``)."""
    import dj_database_url
    import psycopg2

    params = dj_database_url.parse(url)
    conn = psycopg2.connect(
        dbname="postgres",
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"],
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["NAME"]])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{params["NAME"]}"')
    conn.close()


def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (the bench data is thrown away when done)."""
    import dj_database_url
    import psycopg2

    params = dj_database_url.parse(url)
    conn = psycopg2.connect(
        dbname="postgres",
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"],
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{params["NAME"]}" WITH (FORCE)')
    conn.close()


def drop_database_now() -> None:
    """Close Django's connections and drop the database of DATABASE_URL (``--drop``)."""
    from django.db import connections

    connections.close_all()
    drop_database(os.environ["DATABASE_URL"])


def process_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) process ``pid`` has used, in ms; None when it is not on
    this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def backend_cpu_ms() -> float | None:
    """CPU time the PostgreSQL process serving Django's connection has used, in ms."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return process_cpu_ms(pid)


def server_cpu_ms() -> float | None:
    """CPU time the whole PostgreSQL server has used so far, in ms: the postmaster, its
    live processes (every backend, the checkpointer, the WAL writer, autovacuum) and the
    ones that have exited (their CPU is added to the postmaster's children's time). A
    worker's many connections are all in it; None when the server is not on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postmaster = int(_stat(backend)[1])  # the backend's parent
        own = _stat(postmaster)
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except OSError:
        return None
    ticks = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime
    for child in children:
        try:
            ticks += sum(int(v) for v in _stat(int(child))[11:13])
        except OSError:  # exited meanwhile: its time moved to the postmaster's cutime
            continue
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state is [0])."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
