"""The beat scan: at-risk and breach alerts raised once, mailed, escalated; a frozen clock."""

from __future__ import annotations

import pytest
import time_machine

from sla.models import DepartmentCalendar, SlaAlert, SlaPolicy, TicketSla
from sla.scan import scan_deadlines
from sla.services import ticket_sla_recompute
from tests.outbox_helpers import deliver as outbox_deliver
from tickets.models import Department
from tickets.services import MessageIn, message_add, ticket_assign, ticket_open

from .conftest import msk

pytestmark = pytest.mark.django_db


@pytest.fixture
def watched(presets):
    """Customer support tells lead@ about its tickets; a ticket opened Monday 09:00 MSK.

    1 business hour: due 10:00; at risk (80 %) from 09:48.
    """
    DepartmentCalendar.objects.filter(department__slug="customer-support").update(
        notify_emails="lead@example.com, "
    )
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        ticket = ticket_open(
            subject="Checkout broken",
            department=Department.objects.get(slug="customer-support"),
            message=MessageIn(channel="chat", body_text="Nobody can pay"),
        ).ticket
    ticket_sla_recompute(ticket.pk, now=msk(2026, 11, 23, 9, 0, 30))
    return ticket


def test_warns_at_80_percent_then_breaches_once(watched, agent):
    ticket_assign(ticket=watched, assignee=agent)
    agent.email = "alice@example.com"
    agent.save(update_fields=["email"])

    assert scan_deadlines(now=msk(2026, 11, 23, 9, 30)).checked == 0
    risk = scan_deadlines(now=msk(2026, 11, 23, 9, 50))
    assert risk.at_risk == [(watched.pk, "first_response")] and not risk.breached
    assert outbox_deliver()[-1].to == ["alice@example.com", "lead@example.com"]
    assert "at risk" in outbox_deliver()[-1].subject
    assert scan_deadlines(now=msk(2026, 11, 23, 9, 55)).checked == 0

    breach = scan_deadlines(now=msk(2026, 11, 23, 10, 1))
    assert breach.breached == [(watched.pk, "first_response")]
    assert "breached" in outbox_deliver()[-1].subject
    sla = TicketSla.objects.get(pk=watched.pk)
    assert sla.first_response_breached
    assert sla.breached_at == msk(2026, 11, 23, 10, 0)
    assert sla.next_check_at is None
    # Later scans and recomputes raise nothing again.
    assert scan_deadlines(now=msk(2026, 11, 23, 11, 0)).checked == 0
    ticket_sla_recompute(watched.pk, now=msk(2026, 11, 23, 11, 0))
    assert scan_deadlines(now=msk(2026, 11, 23, 12, 0)).checked == 0
    assert SlaAlert.objects.filter(ticket=watched).count() == 2
    assert len(outbox_deliver()) == 2


def test_breach_escalates_per_policy(watched):
    second_line = Department.objects.get(slug="technical-support")
    SlaPolicy.objects.filter(slug="customer-support").update(escalate_to=second_line)
    ticket_sla_recompute(watched.pk, now=msk(2026, 11, 23, 9, 1))

    result = scan_deadlines(now=msk(2026, 11, 23, 10, 30))
    assert result.escalated == [watched.pk]
    watched.refresh_from_db()
    assert watched.department == second_line
    alert = SlaAlert.objects.get(ticket=watched, kind="breached")
    assert alert.escalated_to == second_line
    # The move is a ticket event: the worker's recompute then uses technical support's policy.
    sla = ticket_sla_recompute(watched.pk, now=msk(2026, 11, 23, 10, 31))
    assert sla.policy.slug == "technical-support"
    assert watched.events.filter(kind="department_changed").count() == 1


def test_scan_cost_does_not_grow_with_closed_tickets(presets, django_assert_num_queries):
    for hour in range(5):
        with time_machine.travel(msk(2026, 11, 23, 9 + hour), tick=False):
            ticket = ticket_open(
                subject="Done",
                department=Department.objects.get(slug="customer-support"),
                message=MessageIn(channel="chat", body_text="fixed already"),
            ).ticket
            from tickets.services import ticket_status_set

            ticket_status_set(ticket=ticket, status="closed")
        assert ticket_sla_recompute(ticket.pk, now=msk(2026, 11, 23, 15)).next_check_at is None
    with django_assert_num_queries(1):
        assert scan_deadlines(now=msk(2026, 12, 31, 12)).checked == 0


def test_ticket_events_queue_one_recompute_each_after_commit(
    presets, agent, django_capture_on_commit_callbacks, monkeypatch
):
    from sla import tasks

    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.recompute_tickets, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(
            subject="Queue me",
            department=Department.objects.get(slug="customer-support"),
            message=MessageIn(channel="email", body_text="hello"),
        ).ticket
    assert queued == [[ticket.pk]]  # created + message_added: one task sees both
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=agent)
    assert queued == [[ticket.pk]]  # assignment moves no clock
    with django_capture_on_commit_callbacks(execute=True):
        message_add(
            ticket=ticket,
            message=MessageIn(channel="note", direction="internal", body_text="checked logs"),
        )
    assert queued == [[ticket.pk]]  # nor does an internal note
    with django_capture_on_commit_callbacks(execute=True):
        message_add(ticket=ticket, message=MessageIn(channel="email", body_text="any news?"))
    assert queued == [[ticket.pk], [ticket.pk]]  # the customer writing again does


@pytest.mark.postgres
def test_scan_query_can_use_the_partial_index(presets):
    from django.db import connection

    sql, params = (
        TicketSla.objects.filter(next_check_at__lte=msk(2026, 11, 23, 9))
        .order_by("next_check_at")[:1000]
        .query.sql_with_params()
    )
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "sla_next_check_live" in plan, plan


def test_a_reply_whose_recompute_is_still_queued_raises_no_breach(watched, agent):
    """A reply at 09:59 to a 10:00 target, the worker's recompute still waiting on the
    follow-up queue: the scan at 10:01 sees deadlines computed before the reply (an older
    event), recomputes first, and raises nothing."""
    with time_machine.travel(msk(2026, 11, 23, 9, 59), tick=False):
        message_add(
            ticket=watched,
            message=MessageIn(channel="chat", direction="outbound", body_text="On it"),
            actor=agent,
        )  # its recompute task went to the broker, where no worker takes it
    result = scan_deadlines(now=msk(2026, 11, 23, 10, 1))
    assert result.breached == [] and not SlaAlert.objects.filter(kind="breached").exists()
    sla = TicketSla.objects.get(pk=watched.pk)
    assert sla.first_response_state == "met" and not sla.first_response_breached
    assert sla.computed_from_event == watched.events.latest("id").pk


def test_deadlines_record_the_event_they_were_computed_from(watched):
    sla = TicketSla.objects.get(pk=watched.pk)
    assert sla.computed_from_event == watched.events.latest("id").pk
