"""The ticket_events receiver queues detection after commit, only when it can matter."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tickets import services
from tickets.models import Channel, Direction, Ticket
from tickets.services import MessageIn

from ..factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def delay():
    with mock.patch("duplicates.tasks.detect_many.delay") as patched:
        yield patched


def test_new_ticket_queues_one_detection_after_commit(
    departments, anna, delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(contact=anna, body="The shop is down")
    delay.assert_called_once_with([ticket.pk])


def test_inbound_follow_up_on_young_ticket_queues_detection(
    departments, anna, delay, django_capture_on_commit_callbacks
):
    ticket = open_ticket(contact=anna, body="The shop is down")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(
            ticket=ticket,
            message=MessageIn(channel=Channel.EMAIL, body_text="still down", author_contact=anna),
        )
    delay.assert_called_once_with([ticket.pk])


def test_replies_notes_and_old_tickets_queue_nothing(
    departments, anna, agent, delay, django_capture_on_commit_callbacks
):
    ticket = open_ticket(contact=anna, body="The shop is down")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(
            ticket=ticket,
            message=MessageIn(
                channel=Channel.EMAIL,
                direction=Direction.OUTBOUND,
                body_text="we are on it",
                author_user=agent,
            ),
        )
        services.message_add(
            ticket=ticket,
            message=MessageIn(
                channel=Channel.NOTE, direction=Direction.INTERNAL, body_text="internal"
            ),
        )
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(
            ticket=ticket,
            message=MessageIn(channel=Channel.EMAIL, body_text="hello?", author_contact=anna),
        )
    delay.assert_not_called()


def test_broker_outage_does_not_break_ingestion(
    departments, anna, delay, django_capture_on_commit_callbacks
):
    delay.side_effect = ConnectionError("broker down")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(contact=anna, body="The shop is down")
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_task_runs_the_service(departments, anna):
    from duplicates.models import TicketSignature
    from duplicates.tasks import detect_many

    ticket = open_ticket(contact=anna, body="The shop is down")
    assert detect_many.run([ticket.pk]) == 1
    assert TicketSignature.objects.filter(ticket=ticket).exists()
