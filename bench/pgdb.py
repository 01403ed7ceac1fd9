"""Shared by the bench scripts: make sure the PostgreSQL database they fill exists."""

from __future__ import annotations


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
