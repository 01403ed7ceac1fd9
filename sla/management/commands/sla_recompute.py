"""Recompute the SLA clocks of live tickets (after installing SLA or editing policies)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sla.services import SlaLookups, chunks, ticket_ids_to_recompute, tickets_sla_recompute


class Command(BaseCommand):
    help = "Recompute SLA clocks in this process; --all includes solved, closed and merged tickets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="every ticket, not only live ones")

    def handle(self, *args, all: bool = False, **options) -> None:  # noqa: A002
        ids = ticket_ids_to_recompute(include_done=all)
        lookups = SlaLookups.load()  # the policies and calendars as they are now, read once
        for chunk in chunks(ids):
            tickets_sla_recompute(chunk, lookups=lookups)
        self.stdout.write(f"Recomputed the SLA clocks of {len(ids)} ticket(s).")
