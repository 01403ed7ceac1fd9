"""Build the workspace's full-text search indexes (PostgreSQL) that are missing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from workspace.search_indexes import build_indexes


class Command(BaseCommand):
    help = "Build the missing search indexes concurrently (the desk keeps working)."

    def handle(self, *args: Any, **options: Any) -> None:
        built = build_indexes(concurrently=True)
        names = ", ".join(built) or "none missing"
        self.stdout.write(self.style.SUCCESS(f"Search indexes built: {names}."))
