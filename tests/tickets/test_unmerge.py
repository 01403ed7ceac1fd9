"""ticket_unmerge: a merge and its un-merge leave both tickets exactly as they were."""

from __future__ import annotations

from typing import Any

import pytest

from tickets import services
from tickets.errors import MergeError
from tickets.models import (
    Channel,
    Department,
    EventKind,
    Message,
    Severity,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.services import MessageIn, message_add, ticket_merge, ticket_unmerge

from ..factories import open_ticket as _open_ticket

pytestmark = pytest.mark.django_db


def open_ticket(*, subject: str, body: str, severity: int = Severity.S3) -> Ticket:
    # Technical support: the only department where severity 1 is allowed (the line's rule).
    tech = Department.objects.get(slug="technical-support")
    ticket = _open_ticket(subject=subject, body=body, department=tech)
    if severity != Severity.S3:
        ticket = services.ticket_severity_set(ticket=ticket, severity=severity)
    return ticket


def snapshot(*tickets: Ticket) -> dict[int, dict[str, Any]]:
    """Return what an un-merge must restore: row state and (message id, merged_from) pairs."""
    out = {}
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        out[ticket.pk] = {
            "status": ticket.status,
            "severity": ticket.severity,
            "merged_into": ticket.merged_into_id,
            "cloned_by_customer": ticket.cloned_by_customer,
            "solved_at": ticket.solved_at,
            "messages": sorted(
                Message.objects.filter(ticket=ticket).values_list("pk", "merged_from_id")
            ),
        }
    return out


def add(ticket: Ticket, text: str) -> Message:
    return message_add(
        ticket=ticket, message=MessageIn(channel=Channel.EMAIL, body_text=text)
    ).message


@pytest.fixture
def pair(departments, agent):
    """A (open, S3, two messages) and B (pending customer, S1, three messages)."""
    a = open_ticket(subject="Transfer failing", body="a1")
    add(a, "a2")
    services.ticket_status_set(ticket=a, status=Status.OPEN)
    b = open_ticket(subject="Transfer failing again", body="b1", severity=Severity.S1)
    add(b, "b2")
    add(b, "b3")
    services.ticket_status_set(ticket=b, status=Status.PENDING_CUSTOMER)
    return a, b


def test_round_trip_restores_both_tickets_exactly(pair, agent):
    """Merge B into A, un-merge B: messages, statuses, severities and pointers as before."""
    a, b = pair
    before = snapshot(a, b)
    ticket_merge(source=b, target=a, actor=agent, reason="dup", cloned_by_customer=True)
    merged = snapshot(a, b)
    assert merged[b.pk]["status"] == Status.MERGED and merged[b.pk]["cloned_by_customer"]
    assert merged[a.pk]["severity"] == Severity.S1 and merged[b.pk]["messages"] == []

    restored = ticket_unmerge(ticket=b, actor=agent, reason="not the same domain")

    assert restored.pk == b.pk
    assert snapshot(a, b) == before
    unmerged = b.events.get(kind=EventKind.UNMERGED)
    assert unmerged.actor == agent and unmerged.data["target"] == a.pk
    assert unmerged.data["reason"] == "not the same domain"
    released = a.events.get(kind=EventKind.RELEASED)
    assert released.data["source"] == b.pk
    assert (released.data["previous_severity"], released.data["severity"]) == (1, 3)


def test_merge_records_what_unmerge_needs(pair):
    a, b = pair
    b_messages = sorted(Message.objects.filter(ticket=b).values_list("pk", flat=True))
    ticket_merge(source=b, target=a)
    data = b.events.get(kind=EventKind.MERGED).data
    assert data["message_ids"] == b_messages
    assert data["previous_merged_from"] == [[pk, None] for pk in b_messages]
    assert data["repointed"] == [] and data["previous_status"] == Status.PENDING_CUSTOMER
    assert a.events.get(kind=EventKind.ABSORBED).data["previous_severity"] == Severity.S3


def test_chain_a_into_b_then_b_into_c_then_unmerge_b(departments):
    """A→B, B→C, un-merge B: B gets its own and A's messages back, A points at B again."""
    a = open_ticket(subject="a", body="a1", severity=Severity.S2)
    b = open_ticket(subject="b", body="b1")
    c = open_ticket(subject="c", body="c1", severity=Severity.S4)
    add(c, "c2")
    initial = snapshot(a, b, c)
    ticket_merge(source=a, target=b)
    after_first = snapshot(a, b, c)
    ticket_merge(source=b, target=c)
    assert Ticket.objects.get(pk=a.pk).merged_into_id == c.pk
    assert snapshot(c)[c.pk]["severity"] == Severity.S2

    ticket_unmerge(ticket=b)

    assert snapshot(a, b, c) == after_first
    a_messages = Message.objects.filter(ticket=b, merged_from=a)
    assert a_messages.count() == 1  # A's message kept its merged_from through both moves
    ticket_unmerge(ticket=a)
    assert snapshot(a, b, c) == initial


def test_unmerging_a_ticket_whose_survivor_was_merged_is_refused(departments):
    a, b, c = (open_ticket(subject=s, body=s) for s in "abc")
    ticket_merge(source=a, target=b)
    ticket_merge(source=b, target=c)
    with pytest.raises(MergeError, match=f"Un-merge {b.reference} first"):
        ticket_unmerge(ticket=a)
    assert Ticket.objects.get(pk=a.pk).merged_into_id == c.pk


def test_unmerge_refused_when_survivor_closed_or_ticket_not_merged(pair):
    a, b = pair
    with pytest.raises(MergeError, match="is not merged"):
        ticket_unmerge(ticket=a)
    ticket_merge(source=b, target=a)
    services.ticket_status_set(ticket=a, status=Status.CLOSED)
    with pytest.raises(MergeError, match="has since been closed"):
        ticket_unmerge(ticket=b)
    assert Ticket.objects.get(pk=b.pk).status == Status.MERGED
    assert not TicketEvent.objects.filter(kind=EventKind.UNMERGED).exists()


def test_messages_that_arrived_after_the_merge_stay_on_the_survivor(pair):
    a, b = pair
    before = snapshot(b)[b.pk]["messages"]
    ticket_merge(source=b, target=a)
    late_to_a = add(a, "late on A")
    late_to_b = add(b, "reply to B's old number")  # lands in the survivor
    assert late_to_b.ticket_id == a.pk
    ticket_unmerge(ticket=b)
    assert snapshot(b)[b.pk]["messages"] == before
    on_a = set(Message.objects.filter(ticket=a).values_list("pk", flat=True))
    assert {late_to_a.pk, late_to_b.pk} <= on_a


def test_severity_changed_after_merge_is_kept(pair, agent):
    a, b = pair
    ticket_merge(source=b, target=a)
    services.ticket_severity_set(ticket=a, severity=Severity.S2, actor=agent)
    ticket_unmerge(ticket=b)
    assert Ticket.objects.get(pk=a.pk).severity == Severity.S2


def test_severity_of_a_ticket_merged_later_still_counts(departments):
    a = open_ticket(subject="a", body="a", severity=Severity.S4)
    b = open_ticket(subject="b", body="b", severity=Severity.S1)
    c = open_ticket(subject="c", body="c", severity=Severity.S2)
    ticket_merge(source=b, target=a)
    ticket_merge(source=c, target=a)
    ticket_unmerge(ticket=b)
    assert Ticket.objects.get(pk=a.pk).severity == Severity.S2  # C is still in A


def test_second_merge_is_the_one_undone(pair):
    a, b = pair
    before = snapshot(a, b)
    ticket_merge(source=b, target=a)
    ticket_unmerge(ticket=b)
    add(b, "b4")
    again = snapshot(a, b)
    ticket_merge(source=b, target=a)
    ticket_unmerge(ticket=b)
    assert snapshot(a, b) == again
    assert len(again[b.pk]["messages"]) == len(before[b.pk]["messages"]) + 1


def test_merge_from_before_unmerge_existed_is_refused_with_advice(pair):
    a, b = pair
    ticket_merge(source=b, target=a)
    event = b.events.get(kind=EventKind.MERGED)
    event.data = {"target": a.pk, "message_ids": [], "previous_status": "open"}
    event.save(update_fields=["data"])
    with pytest.raises(MergeError, match="cannot be un-merged exactly"):
        ticket_unmerge(ticket=b)


def test_cloned_by_customer_is_set_by_merge_and_cleared_by_unmerge(pair):
    a, b = pair
    ticket_merge(source=b, target=a, cloned_by_customer=True)
    assert Ticket.objects.get(pk=b.pk).cloned_by_customer
    assert not Ticket.objects.get(pk=a.pk).cloned_by_customer
    ticket_unmerge(ticket=b)
    assert not Ticket.objects.get(pk=b.pk).cloned_by_customer


def test_unmerge_announces_both_events_after_commit(pair, django_capture_on_commit_callbacks):
    from tickets.signals import ticket_events

    a, b = pair
    ticket_merge(source=b, target=a)
    seen: list[tuple[int, str]] = []

    def listener(sender: Any, events: list, **kwargs: Any) -> None:
        seen.extend((e.ticket_id, e.kind) for e in events)

    ticket_events.connect(listener, dispatch_uid="test-unmerge-listener")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket_unmerge(ticket=b)
    finally:
        ticket_events.disconnect(dispatch_uid="test-unmerge-listener")
    assert (b.pk, EventKind.UNMERGED) in seen and (a.pk, EventKind.RELEASED) in seen


def test_sla_clocks_of_an_unmerged_ticket_run_again(pair):
    from sla.services import ticket_history

    a, b = pair
    ticket_merge(source=b, target=a)
    assert ticket_history(Ticket.objects.get(pk=b.pk))[0].merged_at is not None
    ticket_unmerge(ticket=b)
    assert ticket_history(Ticket.objects.get(pk=b.pk))[0].merged_at is None
