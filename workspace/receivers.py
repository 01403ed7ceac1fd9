"""Keep the workspace's list rows (and agents' notifications) in step with what commits.

Both receivers run after the commit, in the process that made the change: an agent's
own change is in their next list at once, with no task in between. A failure is logged,
never raised (the change it follows stands); ``manage.py workspace_rows`` repairs rows.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from duplicates.models import DuplicateFlag
from mailboxes.signals import mailbox_alert
from sla.signals import deadlines_changed
from supportdesk import signin
from tickets.signals import TicketEventRef, demo_seeded, ticket_events

from . import notify
from .models import AgentProfile
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


@receiver(post_save, sender=DuplicateFlag, dispatch_uid="workspace.rows_on_flag_saved")
def rows_on_flag_saved(sender: Any, instance: DuplicateFlag, **kwargs: Any) -> None:
    """A flag suggested, dismissed or merged one at a time: its ticket's row follows on
    commit (flags filed in bulk are followed by the minute beat, rows_tick)."""
    ticket_id = instance.ticket_id

    def refresh() -> None:
        try:
            rows_refresh([ticket_id])
        except Exception:
            log.exception("could not refresh the workspace row of ticket %s", ticket_id)

    transaction.on_commit(refresh)


@receiver(demo_seeded, dispatch_uid="workspace.demo_data")
def demo_data(sender: Any, **kwargs: Any) -> list[str]:
    """``seed_demo``: add the workspace's demo agents, tickets, macros and KB articles."""
    from . import demo

    return demo.seed(
        contacts=kwargs["contacts"], agent=kwargs["agent"], password_for=kwargs["password_for"]
    )


@receiver(mailbox_alert, dispatch_uid="workspace.notify_mailbox_alert")
def notify_mailbox_alert(
    sender: Any, alert: Any, state: str, recipients: list[int], text: str, **kwargs: Any
) -> None:
    try:
        notify.mailbox_alert(alert.pk, state, recipients, text)
    except Exception:
        log.exception("could not record the notifications of mailbox alert %s", alert.pk)


@receiver(post_save, sender=AgentProfile, dispatch_uid="workspace.signin_on_profile_save")
@receiver(post_delete, sender=AgentProfile, dispatch_uid="workspace.signin_on_profile_delete")
def signin_on_profile_change(sender: Any, using: str | None = None, **kwargs: Any) -> None:
    """A kept agent (workspace.auth) carries their profile: its language, zone and
    settings show on the next request."""
    signin.changed(using)
