"""Rebuild the workspace's list rows from the tickets and their SLA clocks."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from workspace.rows import rows_rebuild_all


class Command(BaseCommand):
    help = "Rebuild every ticket's workspace list row (after a restore, or to repair them)."

    def handle(self, *args: object, **options: object) -> None:
        count = rows_rebuild_all()
        self.stdout.write(self.style.SUCCESS(f"{count} workspace rows rebuilt."))
