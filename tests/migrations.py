"""Moving the test database between migration states, for the data-migration tests."""

from __future__ import annotations

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]) -> Apps:
    """Migrate to ``targets`` and return the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def leaves() -> list[tuple[str, str]]:
    """The latest migration of every app (where a test leaves the database)."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()
