"""Concurrent merges and un-merges of the same tickets (PostgreSQL row locks): no message
is lost or duplicated, whichever one wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.db import connection

from tickets.errors import MergeError
from tickets.models import Channel, Message, Status, Ticket
from tickets.services import MessageIn, message_add, ticket_merge, ticket_unmerge

from ..factories import open_ticket

T = TypeVar("T")
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(works: list[Callable[[], T]]) -> list[T | Exception]:
    """Run each callable in its own thread and connection, released at the same instant."""
    barrier = threading.Barrier(len(works))

    def job(work: Callable[[], T]) -> T | Exception:
        barrier.wait()
        try:
            return work()
        except MergeError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(works)) as pool:
        return list(pool.map(job, works))


def _pair(anna) -> tuple[Ticket, Ticket, set[int]]:
    a = open_ticket(subject="Transfer failing", body="transfer of a.nl fails", contact=anna)
    b = open_ticket(subject="Chat", channel=Channel.CHAT, body="a.nl transfer error", contact=anna)
    for i in range(5):
        for ticket in (a, b):
            message_add(
                ticket=ticket,
                message=MessageIn(
                    channel=Channel.EMAIL, body_text=f"more {i}", author_contact=anna
                ),
            )
    return a, b, set(Message.objects.values_list("pk", flat=True))


def _assert_one_survivor(a: Ticket, b: Ticket, messages: set[int]) -> None:
    a.refresh_from_db()
    b.refresh_from_db()
    statuses = sorted([a.status, b.status])
    assert statuses.count(Status.MERGED) == 1, statuses
    survivor = a if b.status == Status.MERGED else b
    assert set(Message.objects.filter(ticket=survivor).values_list("pk", flat=True)) == messages
    assert Message.objects.count() == len(messages)  # nothing duplicated
    merged = (b if survivor == a else a).events.filter(kind="merged")
    assert merged.count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_same_merge_twice_at_once(departments, anna, round_):
    """Two agents merge B into A at the same moment: one wins, the other is refused."""
    a, b, messages = _pair(anna)
    results = run_concurrently([lambda: ticket_merge(source=b, target=a, reason="dup")] * 2)
    assert sum(isinstance(r, MergeError) for r in results) == 1
    _assert_one_survivor(a, b, messages)


@pytest.mark.parametrize("round_", range(3))
def test_opposite_merges_at_once(departments, anna, round_):
    """A→B and B→A at once: no deadlock, exactly one merge happens, all messages survive."""
    a, b, messages = _pair(anna)
    results = run_concurrently(
        [
            lambda: ticket_merge(source=a, target=b, reason="dup"),
            lambda: ticket_merge(source=b, target=a, reason="dup"),
        ]
    )
    assert sum(isinstance(r, MergeError) for r in results) == 1
    _assert_one_survivor(a, b, messages)


def test_merge_racing_a_new_message(departments, anna):
    """A customer message arriving while B is merged lands in the survivor, once."""
    a, b, messages = _pair(anna)

    def add() -> Message:
        return message_add(
            ticket=b,
            message=MessageIn(channel=Channel.EMAIL, body_text="late", author_contact=anna),
        ).message

    results = run_concurrently([lambda: ticket_merge(source=b, target=a), add])
    late = results[1]
    assert isinstance(late, Message)
    _assert_one_survivor(a, b, messages | {late.pk})


@pytest.mark.parametrize("round_", range(3))
def test_unmerge_racing_a_merge_of_the_survivor(departments, anna, round_):
    """B is merged into A; un-merge B while A is merged into C: either order, every
    message is on exactly one ticket and the pointers agree with the outcome."""
    a, b, _ = _pair(anna)
    c = open_ticket(subject="Third", body="c.nl", contact=anna)
    ticket_merge(source=b, target=a)
    b_messages = set(Message.objects.filter(merged_from=b).values_list("pk", flat=True))
    total = Message.objects.count()

    results = run_concurrently(
        [lambda: ticket_unmerge(ticket=b), lambda: ticket_merge(source=a, target=c)]
    )

    assert not isinstance(results[1], MergeError)  # the survivor's merge always goes through
    assert Message.objects.count() == total
    a, b = Ticket.objects.get(pk=a.pk), Ticket.objects.get(pk=b.pk)
    assert a.merged_into_id == c.pk
    on_b = set(Message.objects.filter(ticket=b).values_list("pk", flat=True))
    if isinstance(results[0], MergeError):  # the merge won: B followed A into C
        assert "Un-merge" in str(results[0])
        assert b.merged_into_id == c.pk and on_b == set()
        assert Message.objects.exclude(ticket=c).count() == 0
    else:  # the un-merge won: B is back, A's messages (only) went on to C
        assert b.status != Status.MERGED and b.merged_into is None
        assert on_b == b_messages
        assert Message.objects.exclude(ticket__in=[b, c]).count() == 0


@pytest.mark.parametrize("round_", range(2))
def test_same_unmerge_twice_at_once(departments, anna, round_):
    a, b, messages = _pair(anna)
    before = set(Message.objects.filter(ticket=b).values_list("pk", flat=True))
    ticket_merge(source=b, target=a)
    results = run_concurrently([lambda: ticket_unmerge(ticket=b)] * 2)
    assert sum(isinstance(r, MergeError) for r in results) == 1
    assert set(Message.objects.filter(ticket=b).values_list("pk", flat=True)) == before
    assert Message.objects.count() == len(messages)
    assert Ticket.objects.get(pk=b.pk).events.filter(kind="unmerged").count() == 1
