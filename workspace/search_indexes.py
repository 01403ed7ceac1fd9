"""The full-text indexes behind ``workspace.search`` (PostgreSQL only).

A GIN index over every inbound message takes minutes on a desk of millions of messages,
so ``migrate`` builds them only on a small desk (migration 0006); on a bigger one the
worker builds them afterwards with ``CREATE INDEX CONCURRENTLY`` (the desk keeps
working; search works meanwhile, only slower), or ``manage.py workspace_search_index``.
"""

from __future__ import annotations

from django.db import connection

INDEXES = {
    "ws_message_inbound_fts": (
        "tickets_message USING gin (to_tsvector('simple'::regconfig, body_text)) "
        "WHERE direction = 'inbound'"
    ),
    "ws_ticket_subject_fts": "tickets_ticket USING gin (to_tsvector('simple'::regconfig, subject))",
}
# Up to this many messages (the planner's estimate) the index is built inside migrate.
INLINE_MESSAGES = 200_000


def missing_indexes() -> list[str]:
    """Return the search indexes that are absent or invalid (a concurrent build that
    failed leaves an invalid one behind)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            "WHERE c.relname = ANY(%s) AND i.indisvalid",
            [list(INDEXES)],
        )
        valid = {row[0] for row in cursor.fetchall()}
    return [name for name in INDEXES if name not in valid]


def build_indexes(*, concurrently: bool) -> list[str]:
    """Build the missing search indexes; return their names. ``concurrently`` needs
    autocommit (a command or a task, not a migration)."""
    built = []
    how = " CONCURRENTLY" if concurrently else ""
    with connection.cursor() as cursor:
        for name in missing_indexes():
            cursor.execute(f"DROP INDEX{how} IF EXISTS {name}")  # an invalid leftover
            cursor.execute(f"CREATE INDEX{how} {name} ON {INDEXES[name]}")
            built.append(name)
    return built


def small_desk() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'tickets_message'")
        row = cursor.fetchone()
    return row is None or row[0] <= INLINE_MESSAGES


def indexes_after_migrate() -> str | None:
    """Queue the build of missing search indexes for the worker; return the news."""
    missing = missing_indexes()
    if not missing:
        return None
    from .tasks import search_indexes_task

    try:
        search_indexes_task.delay()
    except Exception as exc:  # the broker is down: the command does the same work
        return (
            f"Workspace: the search indexes are missing and the worker could not be asked "
            f"({type(exc).__name__}: {exc}); run `manage.py workspace_search_index`."
        )
    return (
        "Workspace: the worker builds the search indexes without blocking the desk (task "
        "workspace.search_indexes), or run `manage.py workspace_search_index` now."
    )
