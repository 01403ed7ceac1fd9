"""The conversation of a ticket as the workspace shows it: every channel's messages,
notes, calls and chat transcripts, merges, splits, changes and SLA alerts, in order."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from sla.models import TARGET_LABELS, AlertKind, SlaAlert
from tickets.models import (
    Attachment,
    Channel,
    Department,
    EventKind,
    Message,
    Status,
    Ticket,
    TicketEvent,
    format_reference,
)
from tickets.sanitize import html_for_display

from . import previews, reads
from .memo import gettext as _
from .memo import reverse

# Events the conversation shows as a line of their own (messages show themselves).
SHOWN_EVENTS = frozenset(
    {
        EventKind.STATUS_CHANGED,
        EventKind.ASSIGNED,
        EventKind.DEPARTMENT_CHANGED,
        EventKind.SEVERITY_CHANGED,
        EventKind.MERGED,
        EventKind.ABSORBED,
        EventKind.UNMERGED,
        EventKind.RELEASED,
        EventKind.SENDER_VERIFIED,
        EventKind.TAGS_CHANGED,
        EventKind.SPLIT,
    }
)


@dataclass(frozen=True)
class ChatLine:
    message: Message
    author: str


@dataclass
class Entry:
    """One item of the conversation."""

    kind: str  # message | chat | event | sla
    at: datetime
    sort_key: tuple
    message: Message | None = None
    author: str = ""
    lines: list[ChatLine] = field(default_factory=list)  # a chat transcript's lines
    html: SafeString | None = None
    blocked_images: int = 0
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    css: str = ""
    # A message's body and attachments are made ready to show only when rendered
    # (``prepare``): a page whose message fragments are memoized skips it
    # (workspace/message_html.py ``fragment``).
    pending: tuple[list[Attachment], bool] | None = None


def conversation(
    ticket: Ticket,
    *,
    remote_images_for: Set[int] = frozenset(),
    known: dict[str, dict[int, str]] | None = None,
    read: reads.PageReads | None = None,
) -> tuple[list[Entry], list[Message]]:
    """Return the ticket's conversation, oldest first (chat lines grouped by conversation
    run, each event and SLA alert as a line), and its messages. ``known``: names of
    users and departments the caller has read already; ``read``: the ticket's messages,
    attachments, events and SLA alerts, when the caller has read them."""
    known = known or {}
    if read is not None:
        messages, attachments = read.messages, read.attachments
    else:
        messages, attachments = reads.messages_with_attachments(ticket)
    users = dict(known.get("users", {}))
    if missing := {m.author_user_id for m in messages if m.author_user_id} - users.keys():
        users.update(_user_names(missing))
    contacts = {ticket.contact_id: str(ticket.contact)} if ticket.contact_id else {}
    if missing := {m.author_contact_id for m in messages if m.author_contact_id} - contacts.keys():
        contacts.update(reads.contact_names(missing))

    def author(message: Message) -> str:
        if message.author_user_id:
            return users.get(message.author_user_id, "?")
        if message.author_contact_id:
            return contacts.get(message.author_contact_id, "?")
        return message.author_name  # the sender as the mail named them

    entries: list[Entry] = []
    for message in messages:
        key = (message.occurred_at, 0, message.pk)
        last = entries[-1] if entries else None
        if message.channel == Channel.CHAT:
            line = ChatLine(message, author(message))
            if last is not None and last.kind == "chat":
                last.lines.append(line)
            else:
                entries.append(Entry("chat", message.occurred_at, key, message, lines=[line]))
            continue
        entries.append(
            Entry(
                "message",
                message.occurred_at,
                key,
                message=message,
                author=author(message),
                css=f"{message.direction} ch-{message.channel}",
                pending=(attachments.get(message.pk, []), message.pk in remote_images_for),
            )
        )
    entries += _event_entries(
        ticket, {**known, "users": users}, None if read is None else read.events
    )
    entries += _sla_entries(ticket, None if read is None else read.alerts)
    entries.sort(key=lambda e: e.sort_key)
    return entries, messages


def message_entry(
    message: Message,
    *,
    allow_remote: bool = False,
    attachments: list[Attachment] | None = None,
    author: str | None = None,
) -> Entry:
    """Return one message ready to render: its HTML made safe to show (remote images
    blocked unless ``allow_remote``, ``cid:`` images from its attachments)."""
    if attachments is None:
        attachments = list(message.attachments.all())
    entry = Entry(
        "message",
        message.occurred_at,
        (message.occurred_at, 0, message.pk),
        message=message,
        author=message.author_name if author is None else author,
        css=f"{message.direction} ch-{message.channel}",
        pending=(attachments, allow_remote),
    )
    prepare(entry)
    return entry


def prepare(entry: Entry) -> Entry:
    """Make a message entry's body safe to show and describe its attachments (once)."""
    if entry.pending is None:
        return entry
    attachments, allow_remote = entry.pending
    entry.pending = None
    message = entry.message
    assert message is not None  # noqa: S101 - only message entries are pending
    by_cid = {a.content_id.strip("<>"): a for a in attachments if a.content_id}
    entry.attachments = [previews.describe(a) for a in attachments if not _shown_inline(a, message)]
    if message.body_html:

        def inline_url(content_id: str) -> str | None:
            found = by_cid.get(content_id)
            if found is None or not previews.is_image(found):
                return None
            return reverse("workspace:attachment_inline", args=[found.pk])

        html, entry.blocked_images = html_for_display(
            message.body_html, inline_url=inline_url, allow_remote=allow_remote
        )
        entry.html = mark_safe(html)  # noqa: S308 - cleaned by nh3 just above
    return entry


def _shown_inline(attachment: Attachment, message: Message) -> bool:
    return bool(
        attachment.content_id
        and attachment.is_inline
        and f"cid:{attachment.content_id.strip('<>')}" in (message.body_html or "")
    )


def _event_entries(
    ticket: Ticket, known: dict[str, dict[int, str]], events: list[TicketEvent] | None = None
) -> list[Entry]:
    if events is None:
        events = reads.events(ticket, SHOWN_EVENTS)
    names = _names(events, known)
    return [
        Entry(
            "event",
            e.created_at,
            (e.created_at, 1, e.pk),
            text=describe_event(e, names),
            css=f"ev-{e.kind}",
        )
        for e in events
    ]


def _sla_entries(ticket: Ticket, alerts: list[SlaAlert] | None = None) -> list[Entry]:
    out = []
    for alert in reads.sla_alerts(ticket) if alerts is None else alerts:
        label = TARGET_LABELS.get(alert.target, alert.target)
        text = (
            _("SLA breached: %(target)s was due")
            if alert.kind == AlertKind.BREACHED
            else _("SLA at risk: %(target)s is due soon")
        ) % {"target": _(label).lower()}
        out.append(
            Entry(
                "sla",
                alert.created_at,
                (alert.created_at, 2, alert.pk),
                text=text,
                css=f"sla-{alert.kind}",
                message=None,
            )
        )
        out[-1].due = alert.due_at  # type: ignore[attr-defined]
    return out


def _names(
    events: list[TicketEvent], known: dict[str, dict[int, str]] | None = None
) -> dict[str, dict[int, str]]:
    """Return the names of the users, departments and tickets the events mention; only
    those not in ``known`` are read."""
    users: set[int | None] = set()
    departments: set[int | None] = set()
    tickets: set[int | None] = set()
    for e in events:
        users.add(e.actor_id)
        if e.kind == EventKind.ASSIGNED:
            users |= {e.data.get("assignee"), e.data.get("previous")}
        elif e.kind == EventKind.DEPARTMENT_CHANGED:
            departments |= {e.data.get("department"), e.data.get("previous")}
        elif e.kind in (EventKind.MERGED, EventKind.UNMERGED):
            tickets.add(e.data.get("target"))
        elif e.kind in (EventKind.ABSORBED, EventKind.RELEASED):
            tickets.add(e.data.get("source"))
        elif e.kind == EventKind.SPLIT:
            tickets.add(e.data.get("ticket"))
    known = known or {}
    names: dict[str, dict[int, str]] = {
        "users": dict(known.get("users", {})),
        "departments": dict(known.get("departments", {})),
        "tickets": {},
    }
    if missing := {pk for pk in users if pk is not None} - names["users"].keys():
        names["users"].update(_user_names(missing))
    if missing := {pk for pk in departments if pk is not None} - names["departments"].keys():
        names["departments"].update(
            Department.objects.filter(pk__in=missing).values_list("pk", "name")
        )
    if missing := {pk for pk in tickets if pk is not None}:
        names["tickets"] = {
            pk: format_reference(n)
            for pk, n in Ticket.objects.filter(pk__in=missing).values_list("pk", "number")
        }
    return names


def _user_names(ids: set[int]) -> dict[int, str]:
    return {
        u.pk: u.get_full_name() or u.get_username()
        for u in get_user_model().objects.filter(pk__in=ids)
    }


def describe_event(event: TicketEvent, names: dict[str, dict[int, str]] | None = None) -> str:
    """Return one line saying what the event did, e.g. "alice set the status to Solved"."""
    names = names or _names([event])
    who = names["users"].get(event.actor_id, "?") if event.actor_id else _("The desk")
    data: Any = event.data or {}  # JSON as stored
    statuses = dict(Status.choices)
    kind = event.kind
    if kind == EventKind.STATUS_CHANGED:
        return _("%(who)s set the status to %(status)s") % {
            "who": who,
            "status": _(str(statuses.get(data.get("status"), data.get("status", "")))),
        }
    if kind == EventKind.ASSIGNED:
        if data.get("assignee") is None:
            return _("%(who)s unassigned the ticket") % {"who": who}
        return _("%(who)s assigned it to %(agent)s") % {
            "who": who,
            "agent": names["users"].get(data.get("assignee"), "?"),
        }
    if kind == EventKind.DEPARTMENT_CHANGED:
        return _("%(who)s moved it to %(department)s") % {
            "who": who,
            "department": names["departments"].get(data.get("department"), "?"),
        }
    if kind == EventKind.SEVERITY_CHANGED:
        return _("%(who)s set the severity to S%(severity)s") % {
            "who": who,
            "severity": data.get("severity"),
        }
    if kind == EventKind.MERGED:
        return _("%(who)s merged this ticket into %(ticket)s") % {
            "who": who,
            "ticket": names["tickets"].get(data.get("target"), "?"),
        }
    if kind == EventKind.ABSORBED:
        return _("%(who)s merged %(ticket)s into this ticket") % {
            "who": who,
            "ticket": names["tickets"].get(data.get("source"), "?"),
        }
    if kind == EventKind.UNMERGED:
        return _("%(who)s took this ticket back out of %(ticket)s") % {
            "who": who,
            "ticket": names["tickets"].get(data.get("target"), "?"),
        }
    if kind == EventKind.RELEASED:
        return _("%(who)s took %(ticket)s back out of this ticket") % {
            "who": who,
            "ticket": names["tickets"].get(data.get("source"), "?"),
        }
    if kind == EventKind.SENDER_VERIFIED:
        return _("%(who)s verified the sender %(email)s") % {
            "who": who,
            "email": data.get("email", ""),
        }
    if kind == EventKind.TAGS_CHANGED:
        parts = [f"+{t}" for t in data.get("added", [])] + [
            f"−{t}" for t in data.get("removed", [])
        ]
        return _("%(who)s changed the tags: %(tags)s") % {"who": who, "tags": " ".join(parts)}
    if kind == EventKind.SPLIT:
        return _("%(who)s split a message off into %(ticket)s") % {
            "who": who,
            "ticket": names["tickets"].get(data.get("ticket"), "?"),
        }
    if kind == EventKind.MESSAGE_ADDED:
        direction = data.get("direction")
        if direction == "inbound":
            return _("The customer wrote (%(channel)s)") % {"channel": data.get("channel", "")}
        if direction == "internal":
            return _("%(who)s added an internal note") % {"who": who}
        return _("%(who)s replied (%(channel)s)") % {"who": who, "channel": data.get("channel")}
    if kind == EventKind.CREATED:
        return _("The ticket was opened")
    return str(event.get_kind_display())


def event_news(events: list[TicketEvent]) -> list[str]:
    """Return what happened in ``events`` (newer than a stale page), one line each."""
    names = _names(events)
    return [describe_event(e, names) for e in events]


def ticket_link(ticket_id: int, number: int) -> SafeString:
    return format_html(
        '<a href="{}">{}</a>', reverse("workspace:ticket", args=[number]), format_reference(number)
    )
