"""Keeping the search index in the transaction of every write that changes what it finds.

``tickets`` sends ``messages_stored``, ``tickets_stored`` and ``messages_moved`` inside
the transaction that inserts or moves rows (bulk inserts of an email batch send one
signal for all of it); the receivers below write the index rows in that same
transaction, with one statement per batch. A search therefore finds a message from the
moment it commits, and a rolled-back write leaves nothing behind.

Contacts, their addresses and phone numbers, and accounts need no index rows: the
migrations put trigram indexes on those tables themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.dispatch import receiver

from tickets.models import Attachment, Channel, Message, Ticket
from tickets.signals import messages_moved, messages_stored, tickets_stored

from .models import Entry, EntryKind
from .text import SIMPLE, identifiers, language_config, phone_number, searchable_text

# Metadata fields that name who wrote (a stranger's mail has no contact to find them by).
SENDER_FIELDS = ("from", "from_email", "from_phone", "caller", "reply_to")
NAME_FIELDS = ("from_name",)
# Subjects are short and their language is rarely clear: they are indexed in every
# configuration at once, so a query stemmed in any of them finds the subject.
SUBJECT_CONFIGS = ("simple", "english", "dutch", "spanish", "russian")


@dataclass(frozen=True)
class Row:
    """One index entry about to be written."""

    ticket_id: int
    message_id: int | None
    kind: str
    config: str
    body: str
    lexemes: list[str]  # matched exactly (the tsvector / FTS5 idents column)
    fragments: list[str] = field(default_factory=list)  # matched in part (trigrams)

    @property
    def idents(self) -> str:
        # Fragments are looked for in identifiers written in the text or file names; years
        # and short numbers, and the sender's own address (the contact's address table has
        # its trigram index) would only make the trigram index bigger.
        return " ".join(x for x in self.fragments if not (x.isdigit() and len(x) < 5))


def phone_regions() -> list[str]:
    """Return the countries a number without country code is read in, the desk's first."""
    regions = [settings.SUPPORTDESK_PHONE_REGION]
    for region in settings.SUPPORTDESK_SEARCH_PHONE_REGIONS:
        if region not in regions:
            regions.append(region)
    return regions


def message_row(
    message: Message, filenames: Sequence[str] = (), regions: Sequence[str] | None = None
) -> Row:
    """Return what ``message`` contributes to the index (``regions``: phone_regions(),
    which a batch reads once)."""
    text = searchable_text(message.body_text or _html_text(message.body_html))
    meta = message.metadata if isinstance(message.metadata, dict) else {}
    senders = [str(v) for f in SENDER_FIELDS for v in _values(meta.get(f))]
    names = " ".join(str(v) for f in NAME_FIELDS for v in _values(meta.get(f)))
    regions = phone_regions() if regions is None else regions
    written = identifiers(text, regions=regions, filenames=filenames)
    lexemes = list(written)
    for value in _sender_identifiers(tuple(senders), tuple(regions)):
        if value not in lexemes:
            lexemes.append(value)
    for value in senders:  # a caller's number as the phone log wrote it
        lexemes += [n for n in _phone_lexemes(value, regions) if n not in lexemes]
    return Row(
        ticket_id=message.ticket_id,
        message_id=message.pk,
        kind=EntryKind.NOTE if message.channel == Channel.NOTE else EntryKind.MESSAGE,
        config=language_config(text),
        body=f"{text}\n{names}".strip() if names else text,
        lexemes=lexemes,
        fragments=written,
    )


def subject_row(ticket: Ticket) -> Row:
    """Return what a ticket's subject (and number) contributes to the index."""
    lexemes = identifiers(ticket.subject, regions=phone_regions())
    return Row(ticket.pk, None, EntryKind.SUBJECT, SIMPLE, ticket.subject, lexemes, lexemes)


@receiver(messages_stored, dispatch_uid="search.index_messages")
def index_messages(
    sender: Any,
    messages: Sequence[Message],
    filenames: Mapping[int, Sequence[str]] | None = None,
    **kwargs: Any,
) -> None:
    """Index the messages just inserted, in their transaction (their attachments' names
    as the sender hands them over, else read)."""
    if not messages:
        return
    names = filenames if filenames is not None else _attachment_names([m.pk for m in messages])
    regions = phone_regions()
    entries_write([message_row(m, names.get(m.pk, ()), regions) for m in messages])


def _attachment_names(message_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for message_id, filename in Attachment.objects.filter(message_id__in=message_ids).values_list(
        "message_id", "filename"
    ):
        names.setdefault(message_id, []).append(filename)
    return names


@receiver(tickets_stored, dispatch_uid="search.index_subjects")
def index_subjects(sender: Any, tickets: Sequence[Ticket], **kwargs: Any) -> None:
    """Index the subjects of the tickets just inserted, in their transaction."""
    if tickets:
        entries_write([subject_row(t) for t in tickets])


@receiver(messages_moved, dispatch_uid="search.follow_moved_messages")
def follow_moved_messages(sender: Any, message_ids: Sequence[int], **kwargs: Any) -> None:
    """Point the moved messages' entries at the ticket each message is on now."""
    if not message_ids:
        return
    marks = ", ".join(["%s"] * len(message_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE search_entry SET ticket_id = (SELECT m.ticket_id FROM tickets_message m "  # noqa: S608 - placeholders; values are parameters
            f"WHERE m.id = search_entry.message_id) WHERE message_id IN ({marks})",
            list(message_ids),
        )


def entries_write(rows: Sequence[Row]) -> None:
    """Insert index entries, one statement per batch (and per FTS table on SQLite)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _write_postgres(rows)
    else:
        _write_sqlite(rows)


def _write_postgres(rows: Sequence[Row]) -> None:
    values = []
    params: list[Any] = []
    for row in rows:
        if row.kind == EntryKind.SUBJECT:
            vector = " || ".join(f"to_tsvector('{c}', %s)" for c in SUBJECT_CONFIGS)
            vector = f"setweight({vector}, 'A')"
            body_params = [row.body] * len(SUBJECT_CONFIGS)
        else:
            weight = "D" if row.kind == EntryKind.NOTE else "C"
            vector = f"setweight(to_tsvector(%s::regconfig, %s), '{weight}')"
            body_params = [row.config, row.body]
        values.append(
            f"(%s, %s, %s, %s, %s, {vector} || setweight(array_to_tsvector(%s::text[]), 'B'))"
        )
        params += [row.ticket_id, row.message_id, row.kind, row.config, row.idents]
        params += [*body_params, row.lexemes]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO search_entry (ticket_id, message_id, kind, config, idents, vector) "  # noqa: S608 - placeholders; values are parameters
            f"VALUES {', '.join(values)}",
            params,
        )


def _write_sqlite(rows: Sequence[Row]) -> None:
    created = Entry.objects.bulk_create(
        [
            Entry(
                ticket_id=r.ticket_id,
                message_id=r.message_id,
                kind=r.kind,
                config=r.config,
                idents=r.idents,
            )
            for r in rows
        ]
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO search_fts (rowid, body, idents) VALUES (%s, %s, %s)",
            [(e.pk, r.body, " ".join(r.lexemes)) for e, r in zip(created, rows, strict=True)],
        )


# A batch's mails come from a few senders again and again (replies, a reseller's staff).
@functools.lru_cache(maxsize=4096)
def _sender_identifiers(senders: tuple[str, ...], regions: tuple[str, ...]) -> tuple[str, ...]:
    """Return the identifiers of the senders' addresses (``identifiers`` of no text)."""
    return tuple(identifiers("", regions=regions, extra=senders))


def _values(value: Any) -> Iterable[Any]:
    if value is None or value == "":
        return ()
    return value if isinstance(value, list | tuple) else (value,)


def _phone_lexemes(value: str, regions: Sequence[str]) -> list[str]:
    number = phone_number(value, regions)
    return [number] if number else []


def _html_text(html: str) -> str:
    from channels_app.email.html_text import html_to_text

    return html_to_text(html) if html else ""
