"""Agents' notifications: recorded once per recipient and source, shown in the workspace,
and copied by email through the outbox as each agent chooses.

Sources: ticket events (assignment, a customer's reply on my ticket, a new chat), notes
that @mention someone, and SLA alerts on my tickets (``sla_alerts_collect``). Each text
is written in the recipient's language. A kind the agent muted in the workspace is kept
as read (so its mail copy still goes out once); a kind they chose for email
(``AgentProfile.email_kinds``, at most ``MAILED_KINDS``) is stored in the outbox in the
same transaction as the notification, and sent by the outbox's worker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, MailOut, mails_queue
from tickets.models import Channel, Direction, EventKind, Message, Ticket
from tickets.signals import TicketEventRef

from .models import MAILED_KINDS, AgentProfile, Notification, NotificationKind

SLA_CURSOR_SOURCE = "sla-cursor"
TEXTS: dict[str, str] = {
    NotificationKind.ASSIGNED: gettext_noop("Assigned to you: %(ticket)s"),
    NotificationKind.CUSTOMER_REPLY: gettext_noop("Customer replied: %(ticket)s"),
    NotificationKind.CHAT_WAITING: gettext_noop("New chat waiting: %(ticket)s"),
    NotificationKind.MENTION: gettext_noop("%(who)s mentioned you on %(reference)s: %(note)s"),
    NotificationKind.SLA_AT_RISK: gettext_noop("SLA at risk (%(target)s): %(ticket)s"),
    NotificationKind.SLA_BREACHED: gettext_noop("SLA breached (%(target)s): %(ticket)s"),
    NotificationKind.MAILBOX_ALERT: gettext_noop("Mailbox: %(alert)s"),
}


@dataclass(frozen=True)
class Notice:
    """One thing to tell one agent; ``params`` fill the kind's text in their language."""

    recipient_id: int
    kind: str
    ticket: Ticket | None
    source: str
    params: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The text in the active language (translated parts of params included)."""
        params = dict(self.params)
        if "target" in params:
            params["target"] = _(params["target"]).lower()
        return (_(TEXTS[self.kind]) % params)[:300]


def record(notices: Iterable[Notice]) -> int:
    """Store each notice once per recipient and source, and queue its mail copy for the
    recipients who chose that kind by email; return how many were new."""
    notices = list(notices)
    if not notices:
        return 0
    recipients = {n.recipient_id for n in notices}
    profiles = {p.user_id: p for p in AgentProfile.objects.filter(user_id__in=recipients)}
    addresses = dict(
        get_user_model()
        .objects.filter(pk__in=recipients, is_active=True)
        .values_list("pk", "email")
    )
    now = timezone.now()
    with transaction.atomic():
        # A source is announced once: what was stored before is neither stored nor mailed.
        known = set(
            Notification.objects.filter(
                recipient_id__in=recipients, source__in={n.source[:100] for n in notices}
            ).values_list("recipient_id", "source")
        )
        rows, mails = [], []
        for notice in notices:
            key = (notice.recipient_id, notice.source[:100])
            if key in known or notice.recipient_id not in addresses:
                continue
            known.add(key)
            profile = profiles.get(notice.recipient_id) or AgentProfile()
            shown = notice.kind not in (profile.muted_kinds or [])
            with translation.override(profile.language):
                text = notice.text()
                rows.append(
                    Notification(
                        recipient_id=notice.recipient_id,
                        kind=notice.kind,
                        ticket=notice.ticket,
                        text=text,
                        source=notice.source[:100],
                        created_at=now,
                        in_workspace=shown,
                        read_at=None if shown else now,
                    )
                )
                address = addresses[notice.recipient_id]
                wanted = notice.kind in MAILED_KINDS and notice.kind in profile.email_kinds
                if wanted and address:
                    mails.append(_mail(notice, text, address))
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        mails_queue(mails)
    return len(rows)


def _mail(notice: Notice, text: str, address: str) -> MailOut:
    """The mail copy of a notice, in the active (the recipient's) language."""
    lines = [text, ""]
    if notice.ticket is not None:
        url = settings.SUPPORTDESK_BASE_URL + reverse(
            "workspace:ticket", args=[notice.ticket.number]
        )
        lines.append(_("Open it in the workspace: %(url)s") % {"url": url})
        lines.append("")
    settings_path = reverse("workspace:settings")
    lines.append(
        _("You get this mail because of your notification settings: %(url)s")
        % {"url": settings.SUPPORTDESK_BASE_URL + settings_path}
    )
    return MailOut(
        kind=MailKind.AGENT_NOTICE,
        to=[address],
        subject=text,
        body_text="\n".join(lines) + "\n",
        headers=AUTO_GENERATED,
        ticket=notice.ticket,
    )


def _ticket(ticket: Ticket) -> str:
    return f"{ticket.reference} {ticket.subject}"[:200]


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
    # A customer's reply tells only the ticket's assignee: of those tickets (every mail of
    # an intake) only the assigned ones are read, where all were read as whole tickets.
    replied = {e.ticket_id for e in wanted if e.kind == EventKind.MESSAGE_ADDED}
    others = {e.ticket_id for e in wanted if e.kind != EventKind.MESSAGE_ADDED}
    tickets = {
        t.pk: t
        for t in Ticket.objects.filter(Q(pk__in=others) | Q(pk__in=replied, assignee__isnull=False))
    }
    assigned = [e.event_id for e in wanted if e.kind == EventKind.ASSIGNED]
    actors = dict(_event_actors(assigned)) if assigned else {}
    notices = []
    for event in wanted:
        ticket = tickets.get(event.ticket_id)
        if ticket is None:
            continue
        source = f"event:{event.event_id}"
        params = {"ticket": _ticket(ticket)}
        if event.kind == EventKind.ASSIGNED:
            assignee = event.data.get("assignee")
            if assignee and assignee != actors.get(event.event_id):
                notices.append(Notice(assignee, NotificationKind.ASSIGNED, ticket, source, params))
        elif event.kind == EventKind.CREATED:
            notices += [
                Notice(agent_id, NotificationKind.CHAT_WAITING, ticket, source, params)
                for agent_id in _chat_agents()
            ]
        elif ticket.assignee_id and not event.data.get("split_from"):
            notices.append(
                Notice(ticket.assignee_id, NotificationKind.CUSTOMER_REPLY, ticket, source, params)
            )
    return record(notices)


def mentions(message: Message, agents: list[User], actor: User) -> int:
    ticket = message.ticket
    params = {
        "who": actor.get_full_name() or actor.get_username(),
        "reference": ticket.reference,
        "note": message.body_text[:120],
    }
    return record(
        Notice(a.pk, NotificationKind.MENTION, ticket, f"mention:{message.pk}", params)
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
    notices = []
    for alert in alerts:
        ticket = alert.ticket
        if not ticket.assignee_id:
            continue
        kind = (
            NotificationKind.SLA_BREACHED
            if alert.kind == AlertKind.BREACHED
            else NotificationKind.SLA_AT_RISK
        )
        params = {
            "target": TARGET_LABELS.get(alert.target, alert.target),
            "ticket": _ticket(ticket),
        }
        notices.append(Notice(ticket.assignee_id, kind, ticket, f"sla:{alert.pk}", params))
    return record(notices)


def mailbox_alert(alert_id: int, state: str, recipients: list[int], text: str) -> int:
    """Tell the mailbox admins that a mailbox stalled, keeps failing, or works again."""
    return record(
        Notice(
            user_id,
            NotificationKind.MAILBOX_ALERT,
            None,
            f"mailbox:{alert_id}:{state}",
            {"alert": text},
        )
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
