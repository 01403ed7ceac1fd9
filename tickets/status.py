"""The rules of a ticket's status: where it may go next, and what a new message does to it.

Pure Python (no Django), so every rule can be walked in a test without a database. The
values are those of ``tickets.models.Status`` (a ``TextChoices``, so ``Status.OPEN ==
"open"``); ``tests/tickets/test_status.py`` checks that the two name the same statuses.
The services (``ticket_status_set``, ``message_add`` and friends) ask these functions and
record the result; nothing else decides a status.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

NEW = "new"
OPEN = "open"
PENDING_CUSTOMER = "pending_customer"
ON_HOLD = "on_hold"
SOLVED = "solved"
CLOSED = "closed"
MERGED = "merged"
STATUSES = (NEW, OPEN, PENDING_CUSTOMER, ON_HOLD, SOLVED, CLOSED, MERGED)

# The directions of a message (``tickets.models.Direction``): the events a status reacts to.
INBOUND = "inbound"  # the customer wrote
OUTBOUND = "outbound"  # an agent answered the customer
INTERNAL = "internal"  # an agent's note
DIRECTIONS = (INBOUND, OUTBOUND, INTERNAL)

# Where a ticket may go next. MERGED is reached only through ticket_merge (and left only
# through ticket_unmerge); CLOSED is final: a customer writing again gets a new ticket
# linked to the closed one.
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({OPEN, PENDING_CUSTOMER, ON_HOLD, SOLVED, CLOSED}),
    OPEN: frozenset({PENDING_CUSTOMER, ON_HOLD, SOLVED, CLOSED}),
    PENDING_CUSTOMER: frozenset({OPEN, ON_HOLD, SOLVED, CLOSED}),
    ON_HOLD: frozenset({OPEN, PENDING_CUSTOMER, SOLVED, CLOSED}),
    SOLVED: frozenset({OPEN, CLOSED}),
    CLOSED: frozenset(),
    MERGED: frozenset(),
}
# A customer's message wakes these up: the problem is not solved after all.
REOPENED_BY_CUSTOMER = frozenset({PENDING_CUSTOMER, SOLVED})
# Tickets nobody works on any more: they are not merged, split, linked or verified.
FINISHED = frozenset({CLOSED, MERGED})

REASON_CUSTOMER_WROTE = "customer wrote again"
REASON_AGENT_REPLIED = "agent replied"


class MessageOutcome(NamedTuple):
    """What a new message does to a ticket in a given status."""

    accepted: bool  # False: the ticket refuses the message (open a new ticket instead)
    status: str  # the ticket's status once the message is stored
    reason: str = ""  # why the status changed ("" when it did not)


def can_move(current: str, target: str) -> bool:
    """Return whether a ticket in ``current`` may be set to ``target`` (a different status)."""
    _check(current)
    _check(target)
    return target in TRANSITIONS[current]


def after_message(status: str, direction: str) -> MessageOutcome:
    """Return what a message in ``direction`` does to a ticket in ``status``.

    A closed ticket takes notes only; a customer's message reopens a pending or solved
    ticket; an agent's answer to a new ticket opens it. A merged ticket takes nothing
    itself: its messages go to the ticket it was merged into (ValueError here).
    """
    _check(status)
    if direction not in DIRECTIONS:
        raise ValueError(f"{direction!r} is not a message direction; use one of {DIRECTIONS}.")
    if status == MERGED:
        raise ValueError("A merged ticket's messages go to the ticket it was merged into.")
    if status == CLOSED:
        return MessageOutcome(accepted=direction == INTERNAL, status=CLOSED)
    if direction == INBOUND and status in REOPENED_BY_CUSTOMER:
        return MessageOutcome(True, OPEN, REASON_CUSTOMER_WROTE)
    if direction == OUTBOUND and status == NEW:
        return MessageOutcome(True, OPEN, REASON_AGENT_REPLIED)
    return MessageOutcome(True, status)


Stamp = Literal["now", "clear"]


def stamps(status: str) -> dict[str, Stamp]:
    """Return the timestamps a move to ``status`` sets to now or clears.

    Solving stamps ``solved_at`` and closing ``closed_at``; any other move puts the
    ticket back in work, so an earlier solution did not hold and ``solved_at`` is cleared.
    """
    _check(status)
    if status == SOLVED:
        return {"solved_at": "now"}
    if status == CLOSED:
        return {"closed_at": "now"}
    return {"solved_at": "clear"}


def _check(status: str) -> None:
    if status not in TRANSITIONS:
        raise ValueError(f"{status!r} is not a status; use one of {STATUSES}.")
