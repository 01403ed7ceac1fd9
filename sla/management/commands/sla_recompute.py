"""Recompute the SLA clocks of live tickets (after installing SLA or editing policies)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sla.services import SlaLookups, tickets_sla_recompute
from tickets.models import Status, Ticket

CHUNK = 200  # tickets per read of their histories


class Command(BaseCommand):
    help = "Recompute SLA clocks in this process; --all includes solved, closed and merged tickets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="every ticket, not only live ones")

    def handle(self, *args, all: bool = False, **options) -> None:  # noqa: A002
        tickets = Ticket.objects.all()
        if not all:
            tickets = tickets.exclude(status__in=[Status.SOLVED, Status.CLOSED, Status.MERGED])
        count = 0
        lookups = SlaLookups.load()  # the policies and calendars as they are now, read once
        ids = list(tickets.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK):
            tickets_sla_recompute(ids[start : start + CHUNK], lookups=lookups)
            count += len(ids[start : start + CHUNK])
        self.stdout.write(f"Recomputed the SLA clocks of {count} ticket(s).")
