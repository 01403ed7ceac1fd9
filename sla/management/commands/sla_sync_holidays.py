"""Materialise public holidays into the business calendars for some years."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sla.calendar_store import holidays_sync_all


class Command(BaseCommand):
    help = "Write the holidays package's days off and working days into every calendar."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "years", nargs="*", type=int, help="Years to write (default: this year and next two)."
        )

    def handle(self, *args, years: list[int], **options) -> None:
        if not years:
            year = timezone.now().year
            years = list(range(year, year + 3))
        if any(not 1900 <= y <= 2200 for y in years):
            raise CommandError("Give years like 2026 (between 1900 and 2200).")
        for name, count in holidays_sync_all(years).items():
            self.stdout.write(f"{name}: {count} exception(s) for {min(years)}-{max(years)}")
