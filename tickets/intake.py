"""Opening tickets and appending messages, one at a time or many in one go.

Re-exported by ``tickets.services``, the one place callers change tickets through.
``ticket_open`` / ``message_add`` are the batch forms with one item, so a channel that
imports thousands of mails (``tickets_open`` / ``messages_add``) follows exactly the same
rules: idempotent on a message's external id, merged tickets forward to their survivor,
a customer's message reopens a solved ticket, a closed ticket takes notes only.
A batch costs a fixed number of queries (bulk inserts, one lock query), not a few per item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.utils import timezone

from . import status as status_rules
from .errors import InvalidInput, TicketClosed
from .events import record_events, record_status_change
from .idempotency import fit_external_id, write_new
from .inputs import (
    SEVERITIES,
    AttachmentIn,
    MessageAdd,
    MessageIn,
    MessageResult,
    TicketOpen,
    clean_subject,
    validate_message,
)
from .inserts import build, insert_new
from .lengths import fit
from .lines import default_line, line_check, lines_for
from .models import (
    Account,
    Attachment,
    Contact,
    Department,
    EventKind,
    Message,
    Severity,
    SupportLine,
    Ticket,
)
from .numbering import next_ticket_numbers
from .sanitize import sanitize_html
from .signals import messages_stored, tickets_stored


def ticket_open(
    *,
    subject: str,
    department: Department,
    message: MessageIn,
    contact: Contact | None = None,
    account: Account | None = None,
    severity: int = Severity.S3,
    actor: User | None = None,
    needs_verification: bool = False,
    linked_to: Ticket | None = None,
    line: SupportLine | None = None,
    language: str = "",
) -> MessageResult:
    """Open a ticket whose first timeline entry is ``message``.

    Idempotent on ``message.external_id``: if that channel already stored the id, return
    the existing message and its ticket with ``created`` False and change nothing.
    ``linked_to`` names the ticket this one follows up (e.g. a reply to a closed ticket);
    ``needs_verification`` flags a sender agents must confirm before sharing account data.
    ``line`` is the support line the customer contacted (default: the department's line,
    else the default line); the department, account and severity must fit it.
    """
    item = TicketOpen(
        subject=subject,
        department=department,
        message=message,
        contact=contact,
        account=account,
        severity=severity,
        actor=actor,
        needs_verification=needs_verification,
        linked_to=linked_to,
        line=line,
        language=language,
    )
    return tickets_open([item])[0]


def tickets_open(items: Sequence[TicketOpen]) -> list[MessageResult]:
    """Open one ticket per item, in order (numbers ascend with the items); see ticket_open.

    Raises the first item's InvalidInput before writing anything. An item whose message
    id is already stored (or appears earlier in ``items``) gets that message back.
    """
    lines = lines_for([item.department for item in items], [item.line for item in items])
    prepared = [_prepare_open(item, lines) for item in items]

    def write(fresh: list[int], results: list[Any]) -> None:
        stored = _open_fresh([items[i] for i in fresh], [prepared[i] for i in fresh])
        for index, message in zip(fresh, stored, strict=True):
            results[index] = MessageResult(message, created=True)

    return write_new([item.message for item in items], write)


def message_add(*, ticket: Ticket, message: MessageIn, actor: User | None = None) -> MessageResult:
    """Append ``message`` to the ticket's timeline (idempotent on its external id).

    A message for a merged ticket lands in the surviving ticket. A customer's message
    reopens a solved or pending ticket; a closed ticket refuses inbound and outbound
    messages with TicketClosed (open a new ticket instead), but still takes notes.
    """
    result = messages_add([MessageAdd(ticket=ticket, message=message, actor=actor)])[0]
    if isinstance(result, TicketClosed):
        raise result
    return result


def messages_add(items: Sequence[MessageAdd]) -> list[MessageResult | TicketClosed]:
    """Append each item's message, in order; see message_add.

    A message a closed ticket refuses comes back as a TicketClosed (not raised), so the
    caller can open follow-up tickets for those and keep the rest of the batch.
    """
    for item in items:
        validate_message(item.message)
    return write_new(
        [item.message for item in items],
        lambda fresh, results: _append_fresh(items, fresh, results),
    )


# --- the writes -------------------------------------------------------------------------


def _open_fresh(items: list[TicketOpen], prepared: list[_Prepared]) -> list[Message]:
    if not items:
        return []
    now = timezone.now()
    numbers = next_ticket_numbers(len(items))
    tickets = insert_new(
        [
            build(
                Ticket,
                {
                    "number": number,
                    "subject": ready.subject,
                    "severity": item.severity,
                    "language": item.language or ready.line.language,
                    "origin_channel": item.message.channel,
                    "needs_verification": item.needs_verification,
                    "created_at": _reached(item.message, now),
                    "updated_at": now,
                },
                {
                    "department": item.department,
                    "account": ready.account,
                    "contact": item.contact,
                    "line": ready.line,
                    "linked_to": item.linked_to,
                },
            )
            for item, number, ready in zip(items, numbers, prepared, strict=True)
        ]
    )
    tickets_stored.send(sender=Ticket, tickets=tickets)
    events: list[tuple[Ticket, str, User | None, dict[str, Any]]] = [
        (
            ticket,
            EventKind.CREATED,
            item.actor,
            {
                "channel": item.message.channel,
                **({"linked_to": item.linked_to.pk} if item.linked_to else {}),
            },
        )
        for ticket, item in zip(tickets, items, strict=True)
    ]
    messages = _insert_messages([(t, i.message) for t, i in zip(tickets, items, strict=True)], now)
    events += [
        (ticket, EventKind.MESSAGE_ADDED, item.actor, _message_event_data(message))
        for ticket, item, message in zip(tickets, items, messages, strict=True)
    ]
    record_events(events)
    return messages


def _append_fresh(items: Sequence[MessageAdd], todo: list[int], results: list[Any]) -> None:
    now = timezone.now()
    survivors = _lock_survivors([items[i].ticket for i in todo])
    accepted: list[int] = []
    for index in todo:
        message = items[index].message
        ticket = survivors[items[index].ticket.pk]
        if not status_rules.after_message(ticket.status, message.direction).accepted:
            results[index] = TicketClosed(
                f"{ticket.reference} is closed; open a new ticket that refers to it."
            )
        else:
            accepted.append(index)
    pairs = [(survivors[items[i].ticket.pk], items[i].message) for i in accepted]
    stored = _insert_messages(pairs, now)
    record_events(
        [
            (ticket, EventKind.MESSAGE_ADDED, items[i].actor, _message_event_data(message))
            for i, (ticket, _), message in zip(accepted, pairs, stored, strict=True)
        ]
    )
    changed: dict[int, tuple[Ticket, set[str]]] = {}
    for index, (ticket, message) in zip(accepted, pairs, strict=True):
        fields = changed.setdefault(ticket.pk, (ticket, {"updated_at"}))[1]
        outcome = status_rules.after_message(ticket.status, message.direction)
        if outcome.status != ticket.status:
            actor = items[index].actor
            fields |= record_status_change(ticket, outcome.status, actor, reason=outcome.reason)
        ticket.updated_at = now
    touched = [t.pk for t, fields in changed.values() if fields == {"updated_at"}]
    Ticket.objects.filter(pk__in=touched).update(updated_at=now)  # one query for the many
    for ticket, fields in changed.values():
        if fields != {"updated_at"}:
            ticket.save(update_fields=sorted(fields))
    for index, row in zip(accepted, stored, strict=True):
        results[index] = MessageResult(row, created=True)


def _lock_survivors(tickets: Iterable[Ticket]) -> dict[int, Ticket]:
    """Lock the tickets (in id order: two batches cannot deadlock on them) and the tickets
    they were merged into; return each given id's surviving, locked ticket.

    ``FOR NO KEY UPDATE``: what an UPDATE of these rows takes anyway (a message changes a
    ticket's status and times, never its id). Every other writer of a ticket still waits
    for it, but the foreign-key checks of rows that refer to the tickets (another batch's
    detection bands, SLA and report rows, committed meanwhile) no longer do, nor does this
    lock wait for theirs, as it did behind ``FOR UPDATE``."""
    wanted = {t.pk for t in tickets}
    locked: dict[int, Ticket] = {}
    missing = set(wanted)
    while missing:
        rows = Ticket.objects.select_for_update(no_key=True).filter(pk__in=missing).order_by("pk")
        for row in rows:
            locked[row.pk] = row
        missing = {
            row.merged_into_id
            for row in locked.values()
            if row.merged_into_id is not None and row.merged_into_id not in locked
        }
    survivors: dict[int, Ticket] = {}
    for pk in wanted:
        ticket = locked[pk]
        while ticket.merged_into_id is not None:
            ticket = locked[ticket.merged_into_id]
        survivors[pk] = ticket
    return survivors


def _insert_messages(pairs: list[tuple[Ticket, MessageIn]], now: datetime) -> list[Message]:
    stored = insert_new(
        [
            build(
                Message,
                {
                    "channel": message.channel,
                    "direction": message.direction,
                    "body_text": message.body_text,
                    "body_html": sanitize_html(message.body_html) if message.body_html else "",
                    "occurred_at": message.occurred_at or now,
                    "received_at": _reached(message, now),
                    "external_id": fit_external_id(message.external_id),
                    "metadata": message.metadata,
                },
                {
                    "ticket": ticket,
                    "author_contact": message.author_contact,
                    "author_user": message.author_user,
                },
            )
            for ticket, message in pairs
        ]
    )
    files = [
        _attachment(row, item)
        for row, (_, message) in zip(stored, pairs, strict=True)
        for item in message.attachments
    ]
    # One insert for the batch's attachments (a save() each was a statement and Django's
    # whole save path per file); each file is already written by then (_attachment), so
    # FileField.pre_save has nothing left to do.
    Attachment.objects.bulk_create(files)
    filenames: dict[int, list[str]] = {}
    for attachment in files:  # in id order, as a read of the message's attachments gives
        filenames.setdefault(attachment.message_id, []).append(attachment.filename)
    messages_stored.send(sender=Message, messages=stored, filenames=filenames)
    return stored


def _attachment(message: Message, item: AttachmentIn) -> Attachment:
    """Write the file of ``item`` to storage; return its unsaved row on ``message``."""
    digest = hashlib.sha256(item.content).hexdigest()
    name = _safe_filename(item.filename)
    attachment = Attachment(
        message=message,
        filename=fit(Attachment, "filename", name),
        content_type=fit(Attachment, "content_type", item.content_type)
        or "application/octet-stream",
        size=len(item.content),
        sha256=digest,
        content_id=fit(Attachment, "content_id", item.content_id),
        is_inline=item.is_inline,
    )
    attachment.file.save(name, ContentFile(item.content), save=False)
    return attachment


# --- validation and lookups -------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    subject: str
    account: Account | None
    line: SupportLine


def _prepare_open(item: TicketOpen, lines: dict[int | None, SupportLine]) -> _Prepared:
    subject = clean_subject(item.subject)
    validate_message(item.message)
    if not item.department.is_active:
        raise InvalidInput(
            "department", f"{item.department} is inactive; choose an active department."
        )
    if item.severity not in SEVERITIES:
        raise InvalidInput(
            "severity", f"{item.severity!r} is not a severity; use 1 (critical) to 4 (low)."
        )
    line = lines.get(item.line.pk if item.line else item.department.line_id) or lines[None]
    if line is None:
        default_line()  # raises: the desk has no line at all
    line_check(
        line=line,
        department=item.department,
        severity=item.severity,
        account=item.account,
        channel=item.message.channel,
    )
    account = item.account
    if account is None and item.contact is not None and item.contact.account is not None:
        # The contact's account counts only if it is a customer of this line.
        if item.contact.account.line_id in (None, line.pk):
            account = item.contact.account
    return _Prepared(subject, account, line)


def _reached(message: MessageIn, now: datetime) -> datetime:
    """Return when the message reached the desk: its ``received_at``, never after now."""
    return min(message.received_at, now) if message.received_at is not None else now


def _safe_filename(filename: str) -> str:
    # Drop any path a sender put in the name and control characters; keep the rest.
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip(" .")
    return base[:200] or "attachment.bin"


def _message_event_data(message: Message) -> dict[str, Any]:
    return {"message": message.pk, "channel": message.channel, "direction": message.direction}
