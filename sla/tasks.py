"""Celery tasks: thin wrappers that take ids and call the SLA services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .calendar_store import holidays_sync_all
from .scan import scan_deadlines
from .services import (
    SlaLookups,
    chunks,
    ticket_ids_to_recompute,
    ticket_sla_recompute,
    tickets_sla_recompute,
)

log = logging.getLogger(__name__)


@shared_task(
    name="sla.recompute_tickets",
    acks_late=True,  # idempotent: a re-delivery recomputes the same clocks
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=180,
)
def recompute_tickets(ticket_ids: list[int]) -> int:
    """Recompute the SLA clocks of these tickets from their history; return how many."""
    lookups = SlaLookups.load()
    try:
        tickets_sla_recompute(ticket_ids, lookups=lookups)
    except OperationalError:
        raise  # transient: the retry recomputes them all (idempotent)
    except Exception:  # one ticket's bug must not leave the others' clocks stale
        log.exception("SLA recompute of %d tickets failed; one at a time", len(ticket_ids))
        for ticket_id in ticket_ids:
            try:
                ticket_sla_recompute(ticket_id, lookups=lookups)
            except OperationalError:
                raise
            except Exception:
                log.exception("SLA recompute of ticket %s failed", ticket_id)
    return len(ticket_ids)


@shared_task(name="sla.recompute_live", soft_time_limit=120, time_limit=180)
def recompute_live() -> int:
    """Queue the recompute of every live ticket in chunks (after a policy or calendar
    edit); return how many tickets."""
    ids = ticket_ids_to_recompute()
    for chunk in chunks(ids):
        recompute_tickets.delay(chunk)
    return len(ids)


@shared_task(name="sla.scan_deadlines", soft_time_limit=50, time_limit=55, expires=55)
def scan_deadlines_task() -> dict[str, int]:
    """Raise the at-risk warnings and breaches that have come due (beat, every minute)."""
    result = scan_deadlines()
    return {
        "checked": result.checked,
        "at_risk": len(result.at_risk),
        "breached": len(result.breached),
        "escalated": len(result.escalated),
    }


@shared_task(name="sla.sync_holidays", soft_time_limit=120, time_limit=180)
def sync_holidays_task() -> dict[str, int]:
    """Materialise public holidays for this year and the next two (beat)."""
    year = timezone.now().year
    return holidays_sync_all(range(year, year + 3))
