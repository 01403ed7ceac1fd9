"""``manage.py search_index [--rebuild]``: index what is not indexed yet (or everything)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from search.backfill import index_missing, index_rebuild


class Command(BaseCommand):
    help = "Index ticket subjects and messages that have no search entry (--rebuild: all)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Drop and rebuild the index.")

    def handle(self, *args, rebuild: bool = False, **options) -> None:
        def progress(written: int, last: int) -> None:
            self.stdout.write(f"  {written} entries written (message id {last})")

        run = index_rebuild if rebuild else index_missing
        written = run(progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Search index: {written} entries written."))
