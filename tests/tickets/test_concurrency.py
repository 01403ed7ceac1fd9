"""Many writers at once: numbers stay unique, re-deliveries stay single (real databases)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.db import connection

from tickets.models import Channel, Message, Ticket
from tickets.services import MessageIn, ticket_open

T = TypeVar("T")
pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def job(i: int) -> T:
        barrier.wait()
        try:
            return work(i)
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(job, range(count)))


def test_fifty_concurrent_tickets_get_fifty_distinct_numbers(departments):
    dept = departments["customer-support"]

    def create(i: int) -> int:
        return ticket_open(
            subject=f"concurrent {i}",
            department=dept,
            message=MessageIn(channel=Channel.PORTAL, body_text=f"body {i}"),
        ).ticket.number

    numbers = run_concurrently(50, create)
    assert len(set(numbers)) == 50
    assert Ticket.objects.count() == 50
    assert set(Ticket.objects.values_list("number", flat=True)) == set(numbers)


def test_concurrent_redelivery_of_one_external_id_makes_one_message(departments):
    dept = departments["technical-support"]

    def deliver(i: int) -> int:
        return ticket_open(
            subject="same mail",
            department=dept,
            message=MessageIn(
                channel=Channel.EMAIL, body_text="hello", external_id="<once@example.com>"
            ),
        ).message.pk

    message_ids = run_concurrently(12, deliver)
    assert len(set(message_ids)) == 1
    assert Message.objects.filter(external_id="<once@example.com>").count() == 1
    assert Ticket.objects.count() == 1
