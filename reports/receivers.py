"""Queue a refresh of the facts of every ticket whose figures a commit may have moved:
ticket events, SLA recomputes and SLA alerts raised by the scan."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from csat.signals import survey_rated
from kb.signals import article_voted, articles_shown
from sla.models import SlaAlert
from sla.signals import deadlines_changed
from tickets.signals import TicketEventRef, ticket_events

log = logging.getLogger(__name__)
KB_SESSION_KEY = "reports_kb_shown_day"


def queue_refresh(ticket_ids: list[int]) -> None:
    if not ticket_ids:
        return
    from .tasks import refresh_facts

    try:
        refresh_facts.delay(sorted(set(ticket_ids)))
    except Exception:  # broker down: the beat's catch-up refreshes recent tickets
        log.exception("could not queue the figures of tickets %s", ticket_ids)


@receiver(ticket_events, dispatch_uid="reports.refresh_on_ticket_events")
def refresh_on_ticket_events(sender: Any, events: list[TicketEventRef], **kwargs: Any) -> None:
    queue_refresh([e.ticket_id for e in events])


@receiver(deadlines_changed, dispatch_uid="reports.refresh_on_deadlines")
def refresh_on_deadlines(sender: Any, ticket_ids: list[int], **kwargs: Any) -> None:
    queue_refresh(list(ticket_ids))


@receiver(post_save, sender=SlaAlert, dispatch_uid="reports.refresh_on_sla_alert")
def refresh_on_sla_alert(sender: Any, instance: SlaAlert, created: bool, **kwargs: Any) -> None:
    if created:
        ticket_id = instance.ticket_id
        transaction.on_commit(lambda: queue_refresh([ticket_id]))


@receiver(articles_shown, dispatch_uid="reports.count_kb_shown")
def count_kb_shown(sender: Any, request: Any, count: int, **kwargs: Any) -> None:
    """Count a customer shown articles while writing, once per browser session and day."""
    from .facts import _today, figures_add

    day = _today().isoformat()
    if request.session.get(KB_SESSION_KEY) == day:
        return
    request.session[KB_SESSION_KEY] = day
    figures_add({(day, 0, 0, "portal", 0, False, "kb_shown"): 1})


@receiver(article_voted, dispatch_uid="reports.count_kb_vote")
def count_kb_vote(sender: Any, request: Any, article: Any, helpful: bool, **kwargs: Any) -> None:
    from .facts import _today, figures_add

    metric = "kb_helpful_yes" if helpful else "kb_helpful_no"
    figures_add({(_today().isoformat(), 0, 0, "portal", 0, False, metric): 1})


@receiver(survey_rated, dispatch_uid="reports.refresh_on_rating")
def refresh_on_rating(sender: Any, survey: Any, **kwargs: Any) -> None:
    """A rating shows in the reports at once (one ticket: cheap to do right here)."""
    from .facts import facts_refresh

    try:
        facts_refresh([survey.ticket_id])
    except Exception:  # the rating stands; the queued refresh of its note catches up
        log.exception("could not refresh the figures of ticket %s", survey.ticket_id)
