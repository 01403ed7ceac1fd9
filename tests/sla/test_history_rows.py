"""The history read for the replay (``HistoryRows``) skips the event kinds that move no
clock: the replay from it equals the replay from every event, and the deadlines still
name the newest event of any kind as the one they were computed from."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from django.db.models import Max

from sla.services import REPLAYED_KINDS, HistoryRows, ticket_history
from tickets.merging import ticket_merge, ticket_unmerge
from tickets.models import Department, Ticket, TicketEvent
from tickets.services import (
    MessageIn,
    message_add,
    ticket_department_set,
    ticket_open,
    ticket_status_set,
)

pytestmark = pytest.mark.django_db


def _open(subject: str, department: Department) -> Ticket:
    return ticket_open(
        subject=subject,
        department=department,
        message=MessageIn(channel="email", body_text="help"),
    ).ticket


def _every_event(ids: list[int]) -> HistoryRows:
    """The read as it was before: every event of every kind."""
    rows = HistoryRows.load(ids)
    rows.events = defaultdict(list)
    for ticket_id, *event in (
        TicketEvent.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "kind", "data", "created_at")
    ):
        rows.events[ticket_id].append(tuple(event))
    return rows


def _shapes(presets: Any) -> list[int]:
    support = Department.objects.get(slug="customer-support")
    technical = Department.objects.get(slug="technical-support")
    new = _open("new", support)
    replied = _open("replied", support)  # reply after an agent's reply, then a status move
    message_add(
        ticket=replied,
        message=MessageIn(channel="email", direction="outbound", body_text="on it"),
    )
    message_add(ticket=replied, message=MessageIn(channel="email", body_text="still broken"))
    paused = _open("paused", support)  # pause and resume, then an escalation
    ticket_status_set(ticket=paused, status="pending_customer")
    ticket_status_set(ticket=paused, status="open")
    ticket_department_set(ticket=paused, department=technical)
    survivor, merged = _open("survivor", support), _open("merged", support)
    ticket_merge(source=merged, target=survivor)
    unmerged = _open("unmerged", support)
    ticket_merge(source=unmerged, target=survivor)
    ticket_unmerge(ticket=unmerged)
    return [t.pk for t in (new, replied, paused, survivor, merged, unmerged)]


def test_the_replayed_history_equals_the_one_of_every_event(presets):
    ids = _shapes(presets)
    narrow, full = HistoryRows.load(ids), _every_event(ids)
    skipped = TicketEvent.objects.filter(ticket_id__in=ids).count() - sum(
        len(v) for v in narrow.events.values()
    )
    assert skipped > 0  # message_added, created, assigned … not read
    for ticket in Ticket.objects.filter(pk__in=ids):
        assert ticket_history(ticket, narrow) == ticket_history(ticket, full)
    paused = Ticket.objects.get(subject="paused")
    history, escalations = ticket_history(paused, narrow)
    assert [s for _, s in history.statuses] == ["new", "pending_customer", "open"]
    assert len(escalations) == 1
    assert ticket_history(Ticket.objects.get(subject="merged"), narrow)[0].merged_at is not None
    assert ticket_history(Ticket.objects.get(subject="unmerged"), narrow)[0].merged_at is None


def test_the_newest_event_of_any_kind_is_the_one_computed_from(presets):
    ids = _shapes(presets)
    newest = dict(
        TicketEvent.objects.filter(ticket_id__in=ids)
        .values("ticket_id")
        .annotate(latest=Max("id"))
        .values_list("ticket_id", "latest")
    )
    replied = Ticket.objects.get(subject="replied")
    last = TicketEvent.objects.filter(ticket=replied).latest("id")
    assert last.kind not in REPLAYED_KINDS  # the customer's message: not replayed
    assert HistoryRows.load(ids).latest_event == newest
    assert newest[replied.pk] == last.pk
