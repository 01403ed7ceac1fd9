"""Import mail from .eml files, mbox files and Maildir folders into SupportDesk.

Each mail is stored raw first (like a webhook delivery), then queued for the worker, or
with ``--sync`` processed right here by the same code the worker runs.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from channels_app.email.sources import iter_mails
from channels_app.inbound import inbound_process, inbound_store
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Channel, Message


class Command(BaseCommand):
    help = (
        "Import mail: PATH... are .eml files, mbox files or Maildir folders, read in the "
        "order given (directories in sorted name order). Without --sync the mails are "
        "queued for the Celery worker; with --sync they are processed in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help=".eml file, mbox file or Maildir folder")
        parser.add_argument(
            "--sync", action="store_true", help="process in-process instead of enqueueing"
        )
        parser.add_argument("--source", default="import", help="source label on the records")

    def handle(self, *args: Any, **options: Any) -> None:
        counts: Counter[str] = Counter()
        ignored: Counter[str] = Counter()
        failed: list[str] = []
        tty = self.stdout.isatty()
        started = time.monotonic()
        for mail in iter_mails(options["paths"]):
            counts["read"] += 1
            if mail.raw is None:
                failed.append(mail.error)
            else:
                outcome, reason = self._one(mail.raw, options)
                counts[outcome] += 1
                if outcome == "ignored":
                    ignored[reason] += 1
                elif outcome == "failed":
                    failed.append(f"{mail.origin}: {reason}")
            if tty and counts["read"] % 25 == 0:
                rate = counts["read"] / max(time.monotonic() - started, 1e-6)
                self.stdout.write(f"\r{counts['read']} mails read ({rate:.0f}/s)", ending="")
                self.stdout.flush()
        if tty:
            self.stdout.write("")
        self._summary(counts, ignored, failed, options["sync"], time.monotonic() - started)

    def _one(self, raw: bytes, options: dict[str, Any]) -> tuple[str, str]:
        sync = options["sync"]
        try:
            record, created = inbound_store(
                channel=Channel.EMAIL, source=options["source"], raw=raw, enqueue=not sync
            )
        except DatabaseError as exc:
            return "failed", f"could not store: {exc}"
        if not created:
            return "duplicate", ""
        if not sync:
            return "queued", ""
        try:
            record = inbound_process(record.pk)
        except DatabaseError as exc:  # stored: beat or a re-run picks it up later
            return "failed", f"database error while processing (kept, will retry): {exc}"
        return _outcome(record)

    def _summary(
        self,
        counts: Counter[str],
        ignored: Counter[str],
        failed: list[str],
        sync: bool,
        seconds: float,
    ) -> None:
        stored = counts["queued"] + counts["new_ticket"] + counts["reply"] + counts["note"]
        stored += counts["duplicate_message"] + counts["ignored"] + counts["failed"]
        lines = [
            f"Read {counts['read']} mail(s) in {seconds:.1f}s.",
            f"  stored:            {stored}",
        ]
        if sync:
            lines += [
                f"  new tickets:       {counts['new_ticket']}",
                f"  threaded replies:  {counts['reply']}",
                f"  notes (bounces, automatic replies): {counts['note']}",
                f"  duplicates:        {counts['duplicate'] + counts['duplicate_message']} "
                f"({counts['duplicate']} identical file(s), "
                f"{counts['duplicate_message']} Message-ID already stored)",
            ]
        else:
            lines += [
                f"  queued for the worker: {counts['queued']}",
                f"  duplicates (already stored): {counts['duplicate']}",
            ]
        lines.append(f"  ignored:           {counts['ignored']}")
        lines += [f"    {n} × {reason}" for reason, n in ignored.most_common()]
        lines.append(f"  failed:            {len(failed)}")
        lines += [f"    {reason}" for reason in failed[:200]]
        if len(failed) > 200:
            lines.append(f"    … and {len(failed) - 200} more (see Inbound records in the admin)")
        self.stdout.write("\n".join(lines))


def _outcome(record: InboundRecord) -> tuple[str, str]:
    """Classify a processed record for the summary."""
    if record.status == InboundStatus.IGNORED:
        return "ignored", record.error
    if record.status != InboundStatus.PROCESSED or record.message_id is None:
        return "failed", record.error or record.status
    message = Message.objects.get(pk=record.message_id)
    first_record = message.inbound_records.order_by("pk").values_list("pk", flat=True).first()
    if first_record != record.pk:
        return "duplicate_message", ""
    if message.channel == Channel.NOTE:
        return "note", ""
    first = Message.objects.filter(ticket_id=message.ticket_id).order_by("pk").first()
    return ("new_ticket" if first is not None and first.pk == message.pk else "reply"), ""
