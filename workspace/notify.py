"""Agents' notifications: recorded once per recipient and source, shown in the workspace.

Sources: ticket events (assignment, a customer's reply on my ticket, a new chat), notes
that @mention someone, and SLA alerts on my tickets (``sla_alerts_collect``). An agent's
muted kinds are never recorded. Mail copies go out through the outbox once it exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max
from django.utils import timezone

from tickets.models import Channel, Direction, EventKind, Message, Ticket, format_reference
from tickets.signals import TicketEventRef

from .models import AgentProfile, Notification, NotificationKind

SLA_CURSOR_SOURCE = "sla-cursor"


def record(items: Iterable[tuple[int, str, int | None, str, str]]) -> int:
    """Store (recipient id, kind, ticket id, text, source) notifications once each,
    leaving out the kinds each recipient muted; return how many were offered."""
    items = list(items)
    if not items:
        return 0
    muted = {
        user_id: set(kinds or [])
        for user_id, kinds in AgentProfile.objects.filter(
            user_id__in={i[0] for i in items}
        ).values_list("user_id", "muted_kinds")
    }
    rows = [
        Notification(recipient_id=r, kind=k, ticket_id=t, text=text[:300], source=s[:100])
        for r, k, t, text, s in items
        if k not in muted.get(r, set())
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)  # once per source
    return len(rows)


def from_ticket_events(events: list[TicketEventRef]) -> int:
    """Record the notifications these committed events call for; return how many."""
    wanted = [
        e
        for e in events
        if e.kind == EventKind.ASSIGNED
        or (e.kind == EventKind.MESSAGE_ADDED and e.data.get("direction") == Direction.INBOUND)
        or (e.kind == EventKind.CREATED and e.data.get("channel") == Channel.CHAT)
    ]
    if not wanted:
        return 0
    tickets = Ticket.objects.in_bulk({e.ticket_id for e in wanted})
    actors = dict(_event_actors([e.event_id for e in wanted]))
    items = []
    for event in wanted:
        ticket = tickets.get(event.ticket_id)
        if ticket is None:
            continue
        ref = f"{ticket.reference} {ticket.subject}"[:200]
        source = f"event:{event.event_id}"
        if event.kind == EventKind.ASSIGNED:
            assignee = event.data.get("assignee")
            if assignee and assignee != actors.get(event.event_id):
                items.append(
                    (
                        assignee,
                        NotificationKind.ASSIGNED,
                        ticket.pk,
                        f"Assigned to you: {ref}",
                        source,
                    )
                )
        elif event.kind == EventKind.CREATED:
            for agent_id in _chat_agents():
                items.append(
                    (
                        agent_id,
                        NotificationKind.CHAT_WAITING,
                        ticket.pk,
                        f"New chat waiting: {ref}",
                        source,
                    )
                )
        elif ticket.assignee_id and not event.data.get("split_from"):
            items.append(
                (
                    ticket.assignee_id,
                    NotificationKind.CUSTOMER_REPLY,
                    ticket.pk,
                    f"Customer replied: {ref}",
                    source,
                )
            )
    return record(items)


def mentions(message: Message, agents: list[AbstractBaseUser], actor: AbstractBaseUser) -> int:
    ticket = message.ticket
    who = actor.get_full_name() or actor.get_username()
    return record(
        (
            a.pk,
            NotificationKind.MENTION,
            ticket.pk,
            f"{who} mentioned you on {ticket.reference}: {message.body_text[:120]}",
            f"mention:{message.pk}",
        )
        for a in agents
    )


def sla_alerts_collect() -> int:
    """Turn SLA alerts raised since the last run into notifications for the tickets'
    assignees (the beat task runs it every minute); return how many."""
    from sla.models import TARGET_LABELS, AlertKind, SlaAlert

    last = (
        Notification.objects.filter(source__startswith="sla:").aggregate(m=Max("created_at"))["m"]
    ) or timezone.now() - timedelta(hours=1)
    alerts = (
        SlaAlert.objects.filter(created_at__gte=last - timedelta(minutes=5))
        .select_related("ticket")
        .order_by("pk")[:1000]
    )
    items = []
    for alert in alerts:
        ticket = alert.ticket
        if not ticket.assignee_id:
            continue
        label = TARGET_LABELS.get(alert.target, alert.target).lower()
        breached = alert.kind == AlertKind.BREACHED
        items.append(
            (
                ticket.assignee_id,
                NotificationKind.SLA_BREACHED if breached else NotificationKind.SLA_AT_RISK,
                ticket.pk,
                f"SLA {'breached' if breached else 'at risk'} ({label}): "
                f"{format_reference(ticket.number)} {ticket.subject}"[:300],
                f"sla:{alert.pk}",
            )
        )
    return record(items)


def mailbox_alert(alert_id: int, state: str, recipients: list[int], text: str) -> int:
    """Tell the mailbox admins that a mailbox stalled, keeps failing, or works again."""
    return record(
        (user_id, NotificationKind.MAILBOX_ALERT, None, text, f"mailbox:{alert_id}:{state}")
        for user_id in recipients
    )


def _event_actors(event_ids: list[int]) -> list[tuple[int, int | None]]:
    from tickets.models import TicketEvent

    return list(TicketEvent.objects.filter(pk__in=event_ids).values_list("pk", "actor_id"))


def _chat_agents() -> list[int]:
    from portal.models import AgentPresence

    since = timezone.now() - timedelta(seconds=settings.SUPPORTDESK_PRESENCE_TIMEOUT)
    ids = list(
        AgentPresence.objects.filter(available=True, last_seen_at__gte=since).values_list(
            "user_id", flat=True
        )
    )
    return ids or list(
        get_user_model().objects.filter(is_active=True, is_staff=True).values_list("pk", flat=True)
    )
