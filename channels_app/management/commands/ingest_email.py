"""Import mail from .eml files, mbox files and Maildir folders into SupportDesk.

Each mail is stored raw first (like a webhook delivery), then queued for the worker, or
with ``--sync`` processed right here by the same code the worker runs. Mails are stored
and processed in chunks of ``SUPPORTDESK_INBOUND_BATCH`` (one transaction each).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError
from django.db.models import Min

from channels_app.email.processor import IMPORT_SOURCE, is_import
from channels_app.email.sources import RawMail, iter_mails
from channels_app.inbound import InboundTransient, inbound_process_many, inbound_store_many
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
        parser.add_argument(
            "--source",
            default="import",
            help="source label on the records (always starts with 'import': the mails' "
            "Date: headers then start their SLA clocks)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts: Counter[str] = Counter()
        ignored: Counter[str] = Counter()
        failed: list[str] = []
        tty = self.stdout.isatty()
        started = time.monotonic()
        chunk: list[RawMail] = []
        for mail in iter_mails(options["paths"]):
            counts["read"] += 1
            if mail.raw is None:
                failed.append(mail.error)
            else:
                chunk.append(mail)
            if len(chunk) >= settings.SUPPORTDESK_INBOUND_BATCH:
                self._chunk(chunk, options, counts, ignored, failed)
                chunk = []
            if tty and counts["read"] % 25 == 0:
                rate = counts["read"] / max(time.monotonic() - started, 1e-6)
                self.stdout.write(f"\r{counts['read']} mails read ({rate:.0f}/s)", ending="")
                self.stdout.flush()
        self._chunk(chunk, options, counts, ignored, failed)
        if tty:
            self.stdout.write("")
        self._summary(counts, ignored, failed, options["sync"], time.monotonic() - started)

    def _chunk(
        self,
        mails: list[RawMail],
        options: dict[str, Any],
        counts: Counter[str],
        ignored: Counter[str],
        failed: list[str],
    ) -> None:
        """Store a chunk of mails in one go; with --sync, process them right here."""
        if not mails:
            return
        sync = options["sync"]
        try:
            stored = inbound_store_many(
                channel=Channel.EMAIL,
                source=_import_source(options["source"]),
                raws=[m.raw for m in mails if m.raw is not None],
                enqueue=not sync,
            )
        except DatabaseError as exc:
            failed.extend(f"{m.origin}: could not store: {exc}" for m in mails)
            return
        new = [
            (mail, record) for mail, (record, created) in zip(mails, stored, strict=True) if created
        ]
        counts["duplicate"] += len(mails) - len(new)
        if not sync:
            counts["queued"] += len(new)
            return
        ids = [r.pk for _, r in new]
        try:
            processed = {r.pk: r for r in inbound_process_many(ids)}
        except InboundTransient:  # the rest are done; these wait (stored) for a re-run
            processed = {r.pk: r for r in InboundRecord.objects.filter(pk__in=ids)}
        except DatabaseError as exc:  # stored: beat or a re-run picks them up later
            counts["failed"] += len(new)
            reason = f"database error while processing (kept, will retry): {exc}"
            failed.extend(f"{mail.origin}: {reason}" for mail, _ in new)
            return
        outcomes = _outcomes(list(processed.values()))
        for mail, record in new:
            outcome, reason = outcomes[record.pk]
            counts[outcome] += 1
            if outcome == "ignored":
                ignored[reason] += 1
            elif outcome == "failed":
                failed.append(f"{mail.origin}: {reason}")

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


def _import_source(label: str) -> str:
    return label if is_import(label) else f"{IMPORT_SOURCE}:{label}"


def _outcomes(records: list[InboundRecord]) -> dict[int, tuple[str, str]]:
    """Classify processed records for the summary (three queries for any number)."""
    out: dict[int, tuple[str, str]] = {}
    done: dict[int, int] = {}  # record id: its message's id
    for record in records:
        if record.status == InboundStatus.IGNORED:
            out[record.pk] = ("ignored", record.error)
        elif record.status != InboundStatus.PROCESSED or record.message_id is None:
            out[record.pk] = ("failed", record.error or record.status)
        else:
            done[record.pk] = record.message_id
    message_ids = set(done.values())
    messages = dict(Message.objects.filter(pk__in=message_ids).values_list("pk", "ticket_id"))
    channels = dict(Message.objects.filter(pk__in=message_ids).values_list("pk", "channel"))
    first_message = dict(
        Message.objects.filter(ticket_id__in=set(messages.values()))
        .values("ticket_id")
        .annotate(first=Min("pk"))
        .values_list("ticket_id", "first")
    )
    first_record = dict(
        InboundRecord.objects.filter(message_id__in=message_ids)
        .values("message_id")
        .annotate(first=Min("pk"))
        .values_list("message_id", "first")
    )
    for pk, message_id in done.items():
        if first_record.get(message_id) != pk:
            out[pk] = ("duplicate_message", "")
        elif channels[message_id] == Channel.NOTE:
            out[pk] = ("note", "")
        elif first_message.get(messages[message_id]) == message_id:
            out[pk] = ("new_ticket", "")
        else:
            out[pk] = ("reply", "")
    return out
