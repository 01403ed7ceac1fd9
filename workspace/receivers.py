"""Keep the workspace's list rows (and agents' notifications) in step with what commits.

Both receivers run after the commit, in the process that made the change: an agent's
own change is in their next list at once, with no task in between. A failure is logged,
never raised (the change it follows stands); ``manage.py workspace_rows`` repairs rows.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from mailboxes.signals import mailbox_alert
from sla.signals import deadlines_changed
from tickets.signals import TicketEventRef, ticket_events

from . import notify
from .rows import rows_refresh

log = logging.getLogger(__name__)


@receiver(ticket_events, dispatch_uid="workspace.rows_on_ticket_events")
def rows_on_ticket_events(sender: Any, events: list[TicketEventRef], **kwargs: Any) -> None:
    ids = {e.ticket_id for e in events}
    try:
        rows_refresh(ids)
    except Exception:
        log.exception("could not refresh the workspace rows of tickets %s", sorted(ids))
    try:
        notify.from_ticket_events(events)
    except Exception:
        log.exception("could not record the notifications of %d ticket events", len(events))


@receiver(deadlines_changed, dispatch_uid="workspace.rows_on_deadlines")
def rows_on_deadlines(sender: Any, ticket_ids: list[int], **kwargs: Any) -> None:
    try:
        rows_refresh(ticket_ids)
    except Exception:
        log.exception("could not refresh the workspace rows of tickets %s", ticket_ids)


@receiver(mailbox_alert, dispatch_uid="workspace.notify_mailbox_alert")
def notify_mailbox_alert(
    sender: Any, alert: Any, state: str, recipients: list[int], text: str, **kwargs: Any
) -> None:
    try:
        notify.mailbox_alert(alert.pk, state, recipients, text)
    except Exception:
        log.exception("could not record the notifications of mailbox alert %s", alert.pk)
