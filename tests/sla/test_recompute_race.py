"""The recompute locks a ticket's SLA row before it reads the history, so an older
result never overwrites a newer one."""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.db import connection, connections, transaction

from sla.models import TicketSla
from sla.services import ticket_sla_recompute
from tests.processes import wait_until
from tickets.models import Department
from tickets.services import MessageIn, message_add, ticket_open

from .conftest import msk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def test_a_recompute_waiting_for_another_reads_what_committed_meanwhile(presets, agent):
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        ticket = ticket_open(
            subject="Checkout broken",
            department=Department.objects.get(slug="customer-support"),
            message=MessageIn(channel="chat", body_text="Nobody can pay"),
        ).ticket
    ticket_sla_recompute(ticket.pk, now=msk(2026, 11, 23, 9, 1))
    errors: list[BaseException] = []

    def recompute() -> None:
        try:
            ticket_sla_recompute(ticket.pk, now=msk(2026, 11, 23, 9, 50))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    # Another recompute holds the row; a second one starts and has to wait for it.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sla_ticketsla WHERE ticket_id = %s FOR UPDATE", [ticket.pk])
    second = threading.Thread(target=recompute)
    second.start()
    try:
        wait_until(waiting_on_a_lock, 30, "the second recompute to wait for the row lock")
        # Meanwhile the agent answers (committed before the second recompute reads).
        with time_machine.travel(msk(2026, 11, 23, 9, 40), tick=False), transaction.atomic():
            message_add(
                ticket=ticket,
                message=MessageIn(channel="chat", direction="outbound", body_text="Fixed"),
                actor=agent,
            )
    finally:
        blocker.commit()
        blocker.close()
        second.join(30)
    assert not errors, errors
    sla = TicketSla.objects.get(pk=ticket.pk)
    assert sla.first_response_state == "met"  # before: "running", from the history it read first
    assert sla.computed_from_event == ticket.events.latest("id").pk
