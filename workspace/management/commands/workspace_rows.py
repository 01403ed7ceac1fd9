"""Rebuild the workspace's list rows from the tickets and their SLA clocks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workspace.rows import rows_missing_fill, rows_rebuild_all


class Command(BaseCommand):
    help = "Rebuild every ticket's workspace list row (after a restore, or to repair them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--missing",
            action="store_true",
            help="only build the rows of tickets that have none (after an upgrade; resumable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["missing"]:
            count, _ = rows_missing_fill()
            self.stdout.write(self.style.SUCCESS(f"{count} missing workspace rows built."))
            return
        count = rows_rebuild_all()
        self.stdout.write(self.style.SUCCESS(f"{count} workspace rows rebuilt."))
