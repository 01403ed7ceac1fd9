"""Queue duplicate detection when a ticket opens or a young ticket hears from the customer;
dismiss a pair's flag when an agent un-merges it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from tickets.models import Direction, EventKind, Message, TicketEvent
from tickets.signals import ticket_event

log = logging.getLogger(__name__)


@receiver(ticket_event, dispatch_uid="duplicates.detect_on_ticket_event")
def detect_on_ticket_event(
    sender: Any, ticket_id: int, event_id: int, kind: str, **kwargs: Any
) -> None:
    """Queue detection after ``created``, and after an inbound message on a young ticket."""
    if kind == EventKind.CREATED:
        _enqueue(ticket_id)
    elif kind == EventKind.MESSAGE_ADDED and _young_inbound_follow_up(ticket_id, event_id):
        _enqueue(ticket_id)


@receiver(ticket_event, dispatch_uid="duplicates.dismiss_on_unmerge")
def dismiss_on_unmerge(
    sender: Any, ticket_id: int, event_id: int, kind: str, **kwargs: Any
) -> None:
    """Mark the flag of an un-merged pair dismissed: an agent said they are not duplicates."""
    if kind != EventKind.UNMERGED:
        return
    from .services import flags_dismiss_pair

    data = TicketEvent.objects.filter(pk=event_id).values_list("data", flat=True).first()
    target = (data or {}).get("target")
    if target is not None:
        flags_dismiss_pair(first_id=ticket_id, second_id=int(target))


def _young_inbound_follow_up(ticket_id: int, event_id: int) -> bool:
    row = TicketEvent.objects.filter(pk=event_id).values_list("data", "ticket__created_at").first()
    if row is None:
        return False
    data, created_at = row
    young = timezone.now() - created_at <= timedelta(hours=settings.DUPLICATES_YOUNG_HOURS)
    if data.get("direction") != Direction.INBOUND or not young:
        return False
    # The first message arrives with ``created``, which already queued a run.
    return Message.objects.filter(ticket_id=ticket_id, pk__lt=data.get("message", 0)).exists()


def _enqueue(ticket_id: int) -> None:
    from .tasks import detect

    def send() -> None:
        try:
            detect.delay(ticket_id)
        except Exception:  # broker down: ingestion stands; the next message retries
            log.exception("could not queue duplicate detection of ticket %s", ticket_id)

    transaction.on_commit(send)
