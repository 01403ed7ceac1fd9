"""Queue duplicate detection when a ticket opens or a young ticket hears from the customer;
dismiss a pair's flag when an agent un-merges it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Min
from django.dispatch import receiver
from django.utils import timezone

from tickets.models import Direction, EventKind, Message, Ticket
from tickets.signals import TicketEventRef, ticket_events

log = logging.getLogger(__name__)


@receiver(ticket_events, dispatch_uid="duplicates.detect_on_ticket_events")
def detect_on_ticket_events(sender: Any, events: list[TicketEventRef], **kwargs: Any) -> None:
    """Queue one detection task for the tickets just opened and the young tickets that
    just heard again from the customer."""
    created = {e.ticket_id for e in events if e.kind == EventKind.CREATED}
    follow_ups = {
        e.ticket_id: e.data.get("message", 0)
        for e in events
        if e.kind == EventKind.MESSAGE_ADDED
        and e.data.get("direction") == Direction.INBOUND
        and e.ticket_id not in created  # its first message arrives with ``created``
    }
    ticket_ids = sorted(created | _young_with_earlier_messages(follow_ups))
    if ticket_ids:
        _enqueue(ticket_ids)


@receiver(ticket_events, dispatch_uid="duplicates.dismiss_on_unmerge")
def dismiss_on_unmerge(sender: Any, events: list[TicketEventRef], **kwargs: Any) -> None:
    """Mark the flag of an un-merged pair dismissed: an agent said they are not duplicates."""
    from .services import flags_dismiss_pair

    for event in events:
        target = event.data.get("target") if event.kind == EventKind.UNMERGED else None
        if target is not None:
            flags_dismiss_pair(first_id=event.ticket_id, second_id=int(target))


def _young_with_earlier_messages(follow_ups: dict[int, int]) -> set[int]:
    """Return the tickets of ``follow_ups`` (ticket id → new message id) that are young
    and already had a message before the new one (two queries for any number)."""
    if not follow_ups:
        return set()
    since = timezone.now() - timedelta(hours=settings.DUPLICATES_YOUNG_HOURS)
    young = Ticket.objects.filter(pk__in=follow_ups, created_at__gte=since).values_list(
        "pk", flat=True
    )
    first_messages = (
        Message.objects.filter(ticket_id__in=list(young))
        .values("ticket_id")
        .annotate(first=Min("pk"))
        .values_list("ticket_id", "first")
    )
    return {ticket_id for ticket_id, first in first_messages if first < follow_ups[ticket_id]}


def _enqueue(ticket_ids: list[int]) -> None:
    from .tasks import detect_many

    try:
        detect_many.delay(ticket_ids)
    except Exception:  # broker down: ingestion stands; the next message retries
        log.exception("could not queue duplicate detection of tickets %s", ticket_ids)
