"""Indexing what was written before search existed (an upgraded desk), or again."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from tickets.models import Attachment, Message, Ticket

from .indexing import entries_write, message_row, subject_row
from .models import Entry

CHUNK = 2000
AUTOMATIC_LIMIT = 50_000  # more messages than this: migrate says to run the command


def index_missing(*, chunk: int = CHUNK, progress: Callable[[int, int], None] | None = None) -> int:
    """Index every subject and message that has no entry yet, in chunks of ``chunk`` (one
    transaction each); return how many entries were written."""
    written = 0
    last = 0
    while True:
        with transaction.atomic():
            tickets = list(
                Ticket.objects.filter(pk__gt=last)
                .exclude(pk__in=Entry.objects.filter(kind="subject").values("ticket_id"))
                .order_by("pk")[:chunk]
            )
            if not tickets:
                break
            entries_write([subject_row(t) for t in tickets])
            last = tickets[-1].pk
            written += len(tickets)
    last = 0
    while True:
        with transaction.atomic():
            messages = list(
                Message.objects.filter(pk__gt=last)
                .exclude(pk__in=Entry.objects.filter(message__isnull=False).values("message_id"))
                .order_by("pk")[:chunk]
            )
            if not messages:
                break
            names: dict[int, list[str]] = {}
            for message_id, filename in Attachment.objects.filter(
                message_id__in=[m.pk for m in messages]
            ).values_list("message_id", "filename"):
                names.setdefault(message_id, []).append(filename)
            entries_write([message_row(m, names.get(m.pk, ())) for m in messages])
            last = messages[-1].pk
            written += len(messages)
            if progress:
                progress(written, last)
    return written


def index_rebuild(**kwargs) -> int:
    """Drop every entry and index everything again; return how many were written."""
    Entry.objects.all().delete()
    return index_missing(**kwargs)
