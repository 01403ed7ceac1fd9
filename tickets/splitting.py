"""Splitting a message off into a new ticket of its own. Re-exported by ``tickets.services``.

A customer who raises a second problem in a reply gets it handled (and its SLA clocks
run) as its own ticket: the message moves to a new ticket linked to the original one.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from . import status as status_rules
from .errors import InvalidInput, InvalidTransition
from .events import record_events
from .inputs import MAX_SUBJECT_LENGTH
from .models import Channel, EventKind, Message, Ticket
from .numbering import next_ticket_numbers
from .signals import messages_moved, tickets_stored


@transaction.atomic
def ticket_split(*, message: Message, actor: User | None = None, subject: str = "") -> Ticket:
    """Move ``message`` to a new ticket linked to its current one; return the new ticket.

    The new ticket keeps the department, account and severity, belongs to the message's
    author (or the ticket's contact) and starts as *new*. Both tickets record the split.
    """
    original = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    if original.status in status_rules.FINISHED:
        raise InvalidTransition(
            f"{original.reference} is {original.get_status_display().lower()}; "
            "split messages off a live ticket."
        )
    message = Message.objects.select_for_update().get(pk=message.pk, ticket=original)
    if message.channel == Channel.NOTE:
        raise InvalidInput("message", "Internal notes stay with their ticket; copy the text.")
    if not Message.objects.filter(ticket=original).exclude(pk=message.pk).exists():
        raise InvalidInput(
            "message", f"This is the only message of {original.reference}: nothing would remain."
        )
    subject = " ".join((subject or "").split()) or f"{original.subject} (split)"
    now = timezone.now()
    contact = message.author_contact or original.contact
    new = Ticket.objects.create(
        number=next_ticket_numbers(1)[0],
        subject=subject[:MAX_SUBJECT_LENGTH],
        department_id=original.department_id,
        line_id=original.line_id,  # split off, still the same customer's same line
        language=original.language,
        severity=original.severity,
        account_id=original.account_id if contact is None else contact.account_id,
        contact=contact,
        origin_channel=message.channel,
        needs_verification=original.needs_verification,
        linked_to=original,
        created_at=now,
        updated_at=now,
    )
    tickets_stored.send(sender=Ticket, tickets=[new])
    Message.objects.filter(pk=message.pk).update(ticket=new)
    messages_moved.send(sender=Message, message_ids=[message.pk], ticket_id=new.pk)
    data = {"message": message.pk, "channel": message.channel, "direction": message.direction}
    record_events(
        [
            (
                new,
                EventKind.CREATED,
                actor,
                {"channel": message.channel, "split_from": original.pk},
            ),
            (new, EventKind.MESSAGE_ADDED, actor, {**data, "split_from": original.pk}),
            (original, EventKind.SPLIT, actor, {"message": message.pk, "ticket": new.pk}),
        ]
    )
    original.updated_at = now
    original.save(update_fields=["updated_at"])
    return new
