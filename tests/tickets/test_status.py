"""The status rules (``tickets.status``), walked pair by pair and event by event: first the
pure rules against the table below, then the services against the pure rules."""

from __future__ import annotations

import itertools

import pytest

from tickets import services
from tickets import status as rules
from tickets.errors import InvalidTransition, TicketClosed
from tickets.models import Channel, Direction, EventKind, Status, Ticket
from tickets.services import MessageIn

from ..factories import AgentFactory, open_ticket

# Every move the desk allows, written out by hand: a change to the rules must change this
# table. Merged is reached only by ticket_merge, so no row leads there.
ALLOWED = {
    ("new", "open"),
    ("new", "pending_customer"),
    ("new", "on_hold"),
    ("new", "solved"),
    ("new", "closed"),
    ("open", "pending_customer"),
    ("open", "on_hold"),
    ("open", "solved"),
    ("open", "closed"),
    ("pending_customer", "open"),
    ("pending_customer", "on_hold"),
    ("pending_customer", "solved"),
    ("pending_customer", "closed"),
    ("on_hold", "open"),
    ("on_hold", "pending_customer"),
    ("on_hold", "solved"),
    ("on_hold", "closed"),
    ("solved", "open"),
    ("solved", "closed"),
}
ALL_PAIRS = [(a, b) for a, b in itertools.product(rules.STATUSES, repeat=2) if a != b]

# What a message does, per status and direction: (accepted, status after, reason).
AFTER_MESSAGE = {
    ("new", "inbound"): (True, "new", ""),
    ("new", "outbound"): (True, "open", "agent replied"),
    ("new", "internal"): (True, "new", ""),
    ("open", "inbound"): (True, "open", ""),
    ("open", "outbound"): (True, "open", ""),
    ("open", "internal"): (True, "open", ""),
    ("pending_customer", "inbound"): (True, "open", "customer wrote again"),
    ("pending_customer", "outbound"): (True, "pending_customer", ""),
    ("pending_customer", "internal"): (True, "pending_customer", ""),
    ("on_hold", "inbound"): (True, "on_hold", ""),
    ("on_hold", "outbound"): (True, "on_hold", ""),
    ("on_hold", "internal"): (True, "on_hold", ""),
    ("solved", "inbound"): (True, "open", "customer wrote again"),
    ("solved", "outbound"): (True, "solved", ""),
    ("solved", "internal"): (True, "solved", ""),
    ("closed", "inbound"): (False, "closed", ""),
    ("closed", "outbound"): (False, "closed", ""),
    ("closed", "internal"): (True, "closed", ""),
}
LIVE = [s for s in rules.STATUSES if s != rules.MERGED]


def test_the_pure_rules_name_the_models_statuses_and_directions():
    assert list(rules.STATUSES) == list(Status.values)
    assert list(rules.DIRECTIONS) == list(Direction.values)


def test_every_pair_of_statuses_against_the_table():
    """Each of the 42 moves between two different statuses is allowed exactly when the
    table says so; nothing moves back to new, into merged, or out of closed and merged."""
    for current, target in ALL_PAIRS:
        assert rules.can_move(current, target) == ((current, target) in ALLOWED), (
            current,
            target,
        )
    assert not any(rules.can_move(s, rules.NEW) for s in rules.STATUSES if s != rules.NEW)
    assert not any(rules.can_move(s, rules.MERGED) for s in LIVE)
    assert rules.TRANSITIONS[rules.CLOSED] == rules.TRANSITIONS[rules.MERGED] == frozenset()


def test_every_message_event_in_every_status_against_the_table():
    for status, direction in itertools.product(LIVE, rules.DIRECTIONS):
        outcome = rules.after_message(status, direction)
        assert tuple(outcome) == AFTER_MESSAGE[(status, direction)], (status, direction)
        # A status a message leads to is one an agent could also have set.
        if outcome.status != status:
            assert rules.can_move(status, outcome.status)
    for direction in rules.DIRECTIONS:
        with pytest.raises(ValueError, match="merged into"):
            rules.after_message(rules.MERGED, direction)


def test_unknown_statuses_and_directions_are_refused():
    with pytest.raises(ValueError, match="not a status"):
        rules.can_move("reopened", rules.OPEN)
    with pytest.raises(ValueError, match="not a status"):
        rules.stamps("done")
    with pytest.raises(ValueError, match="not a message direction"):
        rules.after_message(rules.OPEN, "sideways")


def test_timestamps_of_each_status():
    assert rules.stamps(rules.SOLVED) == {"solved_at": "now"}
    assert rules.stamps(rules.CLOSED) == {"closed_at": "now"}
    for status in (rules.NEW, rules.OPEN, rules.PENDING_CUSTOMER, rules.ON_HOLD):
        assert rules.stamps(status) == {"solved_at": "clear"}


def _in_status(status: str) -> Ticket:
    """Return a new ticket moved to ``status`` by the services (merged into a fresh one
    for ``merged``)."""
    ticket = open_ticket()
    if status == Status.MERGED:
        services.ticket_merge(source=ticket, target=open_ticket())
    elif status != Status.NEW:
        services.ticket_status_set(ticket=ticket, status=status)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.mark.django_db
def test_ticket_status_set_walks_every_pair_by_the_rules(departments):
    """The service allows exactly the moves of the rules, records each one as an event and
    sets the timestamps the rules name; every refusal is an InvalidTransition."""
    agent = AgentFactory()
    for current, target in ALL_PAIRS:
        ticket = _in_status(current)
        assert ticket.status == current
        events = ticket.events.filter(kind=EventKind.STATUS_CHANGED).count()
        if (current, target) in ALLOWED:
            moved = services.ticket_status_set(ticket=ticket, status=target, actor=agent)
            stored = Ticket.objects.get(pk=ticket.pk)
            assert stored.status == moved.status == target
            change = stored.events.filter(kind=EventKind.STATUS_CHANGED).latest("pk")
            assert (change.data["previous"], change.data["status"]) == (current, target)
            # Closing a solved ticket keeps when it was solved; other moves clear it.
            kept = target == Status.CLOSED and current == Status.SOLVED
            assert (stored.solved_at is not None) == (target == Status.SOLVED or kept)
            assert (stored.closed_at is not None) == (target == Status.CLOSED)
        else:
            with pytest.raises(InvalidTransition, match="cannot go from|merged"):
                services.ticket_status_set(ticket=ticket, status=target, actor=agent)
            assert Ticket.objects.get(pk=ticket.pk).status == current
            assert ticket.events.filter(kind=EventKind.STATUS_CHANGED).count() == events


@pytest.mark.django_db
def test_message_add_walks_every_event_by_the_rules(departments):
    """A customer's message, an agent's answer and a note do to a ticket in each live status
    exactly what the rules say; a refused message is a TicketClosed and stores nothing."""
    agent = AgentFactory()
    channel = {
        Direction.INBOUND: Channel.EMAIL,
        Direction.OUTBOUND: Channel.EMAIL,
        Direction.INTERNAL: Channel.NOTE,
    }
    for (status, direction), (accepted, after, reason) in AFTER_MESSAGE.items():
        ticket = _in_status(status)
        count = ticket.messages.count()
        message = MessageIn(
            channel=channel[direction],
            direction=direction,
            body_text="a message",
            author_user=None if direction == Direction.INBOUND else agent,
        )
        if accepted:
            services.message_add(ticket=ticket, message=message)
            assert ticket.messages.count() == count + 1
        else:
            with pytest.raises(TicketClosed, match="open a new ticket"):
                services.message_add(ticket=ticket, message=message)
            assert ticket.messages.count() == count
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.status == after, (status, direction)
        if reason:
            change = stored.events.filter(kind=EventKind.STATUS_CHANGED).latest("pk")
            assert change.data["reason"] == reason
            assert stored.solved_at is None
