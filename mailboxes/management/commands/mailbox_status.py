"""``manage.py mailbox_status``: each mailbox's health; exit status 2 when one is stalled
or failing (for a monitoring script)."""

from __future__ import annotations

import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from mailboxes.health import PROBLEMS, mailboxes_health


class Command(BaseCommand):
    help = "Show every mailbox's health; exit 2 when one is stalled or failing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="One JSON document.")

    def handle(self, *args, **options) -> None:
        health = mailboxes_health()
        if options["json"]:
            self.stdout.write(json.dumps([h.as_dict() for h in health], indent=2))
        elif not health:
            self.stdout.write("No mailboxes: add them in the admin (Mailboxes).")
        else:
            self.stdout.write(f"Times in {settings.TIME_ZONE}.")
            header = ("mailbox", "state", "last success", "lag s", "today", "streak", "last error")
            rows = [header] + [
                (
                    h.name,
                    h.state,
                    timezone.localtime(h.last_success_at).strftime("%Y-%m-%d %H:%M:%S")
                    if h.last_success_at
                    else "never",
                    "-" if h.lag_seconds is None else f"{h.lag_seconds:.0f}",
                    str(h.stored_today),
                    str(h.error_streak),
                    (h.last_error or h.move_error).replace("\n", " ")[:80],
                )
                for h in health
            ]
            widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
            for row in rows:
                self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if any(h.state in PROBLEMS for h in health):
            sys.exit(2)
