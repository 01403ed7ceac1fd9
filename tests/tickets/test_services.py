"""The ticket services: the one place tickets and timelines change."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from tickets import services
from tickets.errors import InvalidInput, InvalidTransition, MergeError, TicketClosed
from tickets.models import (
    Attachment,
    Channel,
    Direction,
    EventKind,
    Message,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.services import AttachmentIn, MessageIn
from tickets.signals import ticket_events

from ..factories import AgentFactory, open_ticket

pytestmark = pytest.mark.django_db


def test_open_creates_ticket_first_message_and_history(departments, anna):
    """A new ticket carries its first message, its account and a 'created' event."""
    result = services.ticket_open(
        subject="  Transfer   stuck ",
        department=departments["technical-support"],
        contact=anna,
        severity=2,
        message=MessageIn(
            channel=Channel.EMAIL,
            body_text="Domain transfer stuck",
            author_contact=anna,
            external_id="<a1@example>",
        ),
    )
    ticket = Ticket.objects.get(pk=result.ticket.pk)
    assert result.created
    assert ticket.subject == "Transfer stuck"
    assert ticket.account == anna.account  # taken from the contact
    assert ticket.origin_channel == Channel.EMAIL
    assert ticket.status == Status.NEW
    assert ticket.reference == f"SD-{ticket.number}"
    assert list(ticket.messages.values_list("body_text", flat=True)) == ["Domain transfer stuck"]
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.MESSAGE_ADDED]


def test_ticket_numbers_increase_and_never_repeat(departments):
    numbers = [open_ticket(subject=f"t{i}").number for i in range(5)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5


def test_same_external_id_is_one_message(departments, anna):
    """Re-delivering the same external id returns the stored message: no second ticket."""
    first = open_ticket(contact=anna, external_id="<same@example>")
    again = services.ticket_open(
        subject="Printer on fire",
        department=departments["customer-support"],
        message=MessageIn(channel=Channel.EMAIL, body_text="Help!", external_id="<same@example>"),
    )
    assert not again.created and again.ticket.pk == first.pk
    added = services.message_add(
        ticket=first,
        message=MessageIn(channel=Channel.EMAIL, body_text="Help!", external_id="<same@example>"),
    )
    assert not added.created
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1


def test_external_ids_are_unique_per_channel_not_globally(departments):
    ticket = open_ticket(channel=Channel.CHAT, external_id="42")
    services.message_add(
        ticket=ticket, message=MessageIn(channel=Channel.PHONE, body_text="call", external_id="42")
    )
    assert ticket.messages.count() == 2


def test_database_refuses_duplicate_external_id_even_without_the_service(departments):
    ticket = open_ticket(external_id="x1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            ticket=ticket,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            body_text="dup",
            occurred_at=datetime.now(UTC),
            external_id="x1",
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 300}, "subject"),
        ({"severity": 7}, "severity"),
    ],
)
def test_open_rejects_bad_input_with_typed_error(departments, kwargs, field):
    args = {
        "subject": "ok",
        "department": departments["customer-support"],
        "message": MessageIn(channel=Channel.EMAIL, body_text="body"),
        **kwargs,
    }
    with pytest.raises(InvalidInput) as excinfo:
        services.ticket_open(**args)
    assert excinfo.value.field == field
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (MessageIn(channel="fax", body_text="b"), "channel"),
        (MessageIn(channel=Channel.EMAIL, body_text=""), "body"),
        (MessageIn(channel=Channel.NOTE, direction=Direction.INBOUND, body_text="b"), "direction"),
        (
            MessageIn(channel=Channel.EMAIL, direction=Direction.INTERNAL, body_text="b"),
            "direction",
        ),
        (
            MessageIn(channel=Channel.EMAIL, body_text="b", occurred_at=datetime(2026, 1, 1)),  # noqa: DTZ001
            "occurred_at",
        ),
    ],
)
def test_message_validation(departments, message, field):
    ticket = open_ticket()
    with pytest.raises(InvalidInput) as excinfo:
        services.message_add(ticket=ticket, message=message)
    assert excinfo.value.field == field
    assert ticket.messages.count() == 1


def test_inactive_department_is_refused(departments):
    dept = departments["customer-support"]
    dept.is_active = False
    dept.save()
    with pytest.raises(InvalidInput, match="inactive"):
        open_ticket(department=dept)


def test_occurred_at_and_received_at_are_kept_apart(departments):
    call_time = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    ticket = open_ticket(channel=Channel.PHONE, occurred_at=call_time)
    message = ticket.messages.get()
    assert message.occurred_at == call_time
    assert message.received_at > call_time


def test_customer_reply_reopens_solved_ticket(departments, anna, agent):
    ticket = open_ticket(contact=anna)
    services.ticket_status_set(ticket=ticket, status=Status.SOLVED, actor=agent)
    assert Ticket.objects.get(pk=ticket.pk).solved_at is not None
    services.message_add(
        ticket=ticket,
        message=MessageIn(channel=Channel.EMAIL, body_text="Still broken", author_contact=anna),
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.solved_at is None
    change = ticket.events.filter(kind=EventKind.STATUS_CHANGED).last()
    assert change.data["previous"] == Status.SOLVED and change.data["status"] == Status.OPEN


def test_agent_reply_moves_new_ticket_to_open(departments, agent):
    ticket = open_ticket()
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            body_text="On it",
            author_user=agent,
        ),
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_closed_ticket_refuses_customer_mail_but_takes_notes(departments, agent):
    ticket = open_ticket()
    services.ticket_status_set(ticket=ticket, status=Status.CLOSED, actor=agent)
    with pytest.raises(TicketClosed, match="open a new ticket"):
        services.message_add(
            ticket=ticket, message=MessageIn(channel=Channel.EMAIL, body_text="hi")
        )
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text="for the record",
            author_user=agent,
        ),
    )
    assert ticket.messages.count() == 2


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (
            [Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD, Status.SOLVED, Status.CLOSED],
            True,
        ),
        ([Status.CLOSED, Status.OPEN], False),
        ([Status.MERGED], False),
        ([Status.SOLVED, Status.PENDING_CUSTOMER], False),
    ],
)
def test_status_transitions(departments, agent, path, allowed):
    ticket = open_ticket()
    if allowed:
        for status in path:
            ticket = services.ticket_status_set(ticket=ticket, status=status, actor=agent)
        assert ticket.status == path[-1]
        assert ticket.events.filter(kind=EventKind.STATUS_CHANGED).count() == len(path)
    else:
        with pytest.raises(InvalidTransition):
            for status in path:
                services.ticket_status_set(ticket=ticket, status=status, actor=agent)


def test_assign_only_to_active_agents(departments, agent):
    ticket = open_ticket()
    customer_user = AgentFactory(username="not-staff", is_staff=False)
    with pytest.raises(InvalidInput, match="not an active agent"):
        services.ticket_assign(ticket=ticket, assignee=customer_user)
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent
    assert ticket.events.filter(kind=EventKind.ASSIGNED).count() == 1
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)  # no change, no event
    assert ticket.events.filter(kind=EventKind.ASSIGNED).count() == 1


def test_department_and_severity_changes_are_recorded(departments, agent):
    ticket = open_ticket()
    services.ticket_department_set(
        ticket=ticket, department=departments["technical-support"], actor=agent
    )
    services.ticket_severity_set(ticket=ticket, severity=1, actor=agent)
    ticket.refresh_from_db()
    assert ticket.department.slug == "technical-support" and ticket.severity == 1
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {EventKind.DEPARTMENT_CHANGED, EventKind.SEVERITY_CHANGED} <= kinds


def test_merge_moves_timeline_and_keeps_pointer(departments, anna, agent):
    tech = departments["technical-support"]  # severity 1 only there (the line's rule)
    target = open_ticket(
        subject="Transfer stuck", contact=anna, channel=Channel.EMAIL, department=tech
    )
    source = open_ticket(subject="transfer??", contact=anna, channel=Channel.CHAT, department=tech)
    services.ticket_severity_set(ticket=source, severity=1)
    survivor = services.ticket_merge(
        source=source, target=target, actor=agent, reason="same transfer"
    )
    source.refresh_from_db()
    assert source.status == Status.MERGED and source.merged_into == target
    assert survivor.severity == 1  # the stricter one
    assert list(target.messages.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.CHAT]
    moved = target.messages.get(channel=Channel.CHAT)
    assert moved.merged_from == source
    merged_event = source.events.get(kind=EventKind.MERGED)
    assert merged_event.data["reason"] == "same transfer" and merged_event.actor == agent
    # Later mail for the old ticket lands in the survivor.
    services.message_add(
        ticket=source, message=MessageIn(channel=Channel.EMAIL, body_text="any news?")
    )
    assert target.messages.count() == 3


def test_merge_flattens_chains_and_refuses_bad_pairs(departments, agent):
    a, b, c = open_ticket(subject="a"), open_ticket(subject="b"), open_ticket(subject="c")
    services.ticket_merge(source=a, target=b)
    services.ticket_merge(source=b, target=c)
    assert Ticket.objects.get(pk=a.pk).merged_into_id == c.pk
    with pytest.raises(MergeError):
        services.ticket_merge(source=c, target=c)
    with pytest.raises(MergeError, match="merged"):
        services.ticket_merge(source=a, target=c)
    with pytest.raises(InvalidTransition):
        services.ticket_assign(ticket=a, assignee=agent)


def test_database_refuses_merged_status_without_target(departments):
    ticket = open_ticket()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.MERGED)


def test_attachments_are_stored_with_checksum(departments, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = open_ticket(
        attachments=[AttachmentIn("../../etc/passwd", b"root:x:0:0", "text/plain")]
    )
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.filename == "passwd"  # no path from the sender survives
    assert attachment.size == 10
    assert attachment.sha256 == hashlib.sha256(b"root:x:0:0").hexdigest()
    with attachment.file.open("rb") as fh:
        assert fh.read() == b"root:x:0:0"


def test_html_is_sanitized_before_storage(departments):
    ticket = open_ticket(
        body_html='<p onclick="x()">Hi<script>alert(1)</script>'
        '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">l</a></p>'
    )
    html = ticket.messages.get().body_html
    for bad in ("<script", "onerror", "onclick", "javascript:"):
        assert bad not in html
    assert "Hi" in html


def test_events_are_announced_after_commit(departments, django_capture_on_commit_callbacks):
    received: list[tuple[int, str]] = []

    def listener(sender, events, **kwargs):
        received.extend((e.ticket_id, e.kind) for e in events)

    ticket_events.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            ticket = open_ticket()
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        ticket_events.disconnect(listener)
    assert received == [(ticket.pk, EventKind.CREATED), (ticket.pk, EventKind.MESSAGE_ADDED)]
    assert TicketEvent.objects.filter(ticket=ticket).count() == 2


def test_timeline_orders_by_occurrence_across_channels(departments, anna):
    from tickets.selectors import ticket_timeline

    base = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    ticket = open_ticket(
        contact=anna, channel=Channel.EMAIL, occurred_at=base + timedelta(minutes=30)
    )
    for minutes, channel in ((10, Channel.CHAT), (50, Channel.PHONE), (20, Channel.PORTAL)):
        services.message_add(
            ticket=ticket,
            message=MessageIn(
                channel=channel, body_text=channel, occurred_at=base + timedelta(minutes=minutes)
            ),
        )
    channels = [m.channel for m in ticket_timeline(ticket)]
    assert channels == [Channel.CHAT, Channel.PORTAL, Channel.EMAIL, Channel.PHONE]
