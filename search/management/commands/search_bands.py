"""``manage.py search_bands``: build the words' index bands an upgraded or growing desk
lacks, concurrently (what beat's ``search.bands`` does every 10 minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from search.bands import bands_build


class Command(BaseCommand):
    help = "Build the missing bands of the search index concurrently (the desk keeps working)."

    def handle(self, *args: Any, **options: Any) -> None:
        done = bands_build(concurrently=True)
        for line in done:
            self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS(f"Search bands: {len(done)} changes."))
