"""The SLA admin: editable calendars and policies, read-only ticket SLAs, the report."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from sla.models import TicketSla
from sla.selectors import overall_state, sla_report, target_statuses
from sla.services import ticket_sla_recompute
from tickets.models import Department, Ticket
from tickets.services import MessageIn, message_add, ticket_open

from .conftest import msk

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(presets, agent):
    """Opened Monday 2026-11-23 09:00 MSK, answered 09:30 (30 business minutes)."""
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        ticket = ticket_open(
            subject="Cannot log in",
            department=Department.objects.get(slug="technical-support"),
            message=MessageIn(channel="email", body_text="Password reset fails"),
        ).ticket
    with time_machine.travel(msk(2026, 11, 23, 9, 30), tick=False):
        message_add(
            ticket=ticket,
            message=MessageIn(
                channel="email", direction="outbound", body_text="Try now", author_user=agent
            ),
        )
    return ticket_sla_recompute(ticket.pk, now=msk(2026, 11, 23, 9, 31))


def test_states_and_business_time_left(answered):
    statuses = {s.name: s for s in target_statuses(answered, msk(2026, 11, 23, 10, 0))}
    assert statuses["first_response"].state == "met"
    assert statuses["next_response"].state == "none"
    resolution = statuses["resolution"]
    # 5 working days from Monday 09:00 -> Monday 11-30 09:00: 45 h, 1 h used by 10:00.
    assert resolution.state == "on track" and resolution.time_left_text == "44h 00m"
    assert overall_state(list(statuses.values())) == "on track"
    late = target_statuses(answered, msk(2026, 11, 30, 9, 0))
    assert overall_state(late) == "breached"


def test_ticket_sla_pages_render(admin_client, answered):
    changelist = admin_client.get(reverse("admin:sla_ticketsla_changelist"))
    assert changelist.status_code == 200
    assert b"SLA report" in changelist.content
    detail = admin_client.get(reverse("admin:sla_ticketsla_change", args=[answered.pk]))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "Technical support: 1 business hour" in body
    assert "5 working days" in body and "Moscow technical support" in body


def test_report_counts_met_and_median(admin_client, answered):
    rows = sla_report(TicketSla.objects.all(), "department", None, None)
    assert [(r.key, r.tickets, r.with_target, r.met_percent) for r in rows] == [
        ("Technical support", 1, 1, 100.0)
    ]
    assert rows[0].median_first_response.total_seconds() == 30 * 60
    page = admin_client.get(
        reverse("admin:sla_ticketsla_report"),
        {"group": "policy", "since": "2026-11-01", "until": "2026-11-30"},
    )
    assert page.status_code == 200
    assert "100.0 %" in page.content.decode() and "0h 30m" in page.content.decode()


def test_report_leaves_out_customer_clones_unless_asked(admin_client, answered):
    """A re-send the customer cloned on their own is not support's miss (issue 6)."""
    Ticket.objects.filter(pk=answered.pk).update(cloned_by_customer=True)
    url = reverse("admin:sla_ticketsla_report")
    without = admin_client.get(url, {"group": "department"}).content.decode()
    assert "Technical support" not in without and "No tickets started" in without
    with_clones = admin_client.get(url, {"group": "department", "clones": "1"}).content.decode()
    assert "Technical support" in with_clones and "100.0 %" in with_clones


def test_calendars_and_policies_are_editable(admin_client, presets):
    cal = presets["cet-phone-chat"]
    assert (
        admin_client.get(reverse("admin:sla_businesscalendar_change", args=[cal.pk])).status_code
        == 200
    )
    assert admin_client.get(reverse("admin:sla_slapolicy_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:sla_calendarexception_changelist")).status_code == 200


def test_ticket_page_shows_the_sla_panel(admin_client, answered):
    """The panel sla registers on the ticket page: deadlines, states, time left, a link."""
    with time_machine.travel(msk(2026, 11, 23, 10, 0), tick=False):
        url = reverse("admin:tickets_ticket_change", args=[answered.ticket_id])
        page = admin_client.get(url).content.decode()
    panel = page[page.index('id="sla-panel"') :]
    panel = panel[: panel.index("</fieldset>")]
    assert "First response" in panel and "Resolution" in panel
    assert "met" in panel and "on track" in panel and "44h 00m" in panel
    assert reverse("admin:sla_ticketsla_change", args=[answered.pk]) in panel


def test_ticket_without_sla_row_has_no_panel(admin_client, presets):
    ticket = ticket_open(
        subject="No clocks yet",
        department=Department.objects.get(slug="technical-support"),
        message=MessageIn(channel="email", body_text="hello"),
    ).ticket
    TicketSla.objects.filter(ticket=ticket).delete()
    page = admin_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert 'id="sla-panel"' not in page.content.decode()


def test_editing_a_policy_recomputes_the_open_tickets(
    presets, admin, monkeypatch, django_capture_on_commit_callbacks
):
    """Saving a policy in the admin queues the recompute of live tickets: their deadlines
    follow the new target without `manage.py sla_recompute`."""
    from django.forms.models import model_to_dict

    from sla import tasks
    from sla.models import SlaPolicy

    monkeypatch.setattr(tasks.recompute_live, "delay", tasks.recompute_live.run)
    monkeypatch.setattr(tasks.recompute_tickets, "delay", tasks.recompute_tickets.run)
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        ticket = ticket_open(
            subject="Slow DNS",
            department=Department.objects.get(slug="technical-support"),
            message=MessageIn(channel="email", body_text="Resolution takes minutes"),
        ).ticket
        ticket_sla_recompute(ticket.pk)
        before = TicketSla.objects.get(pk=ticket.pk)
        policy = before.policy
        data = {k: ("" if v is None else v) for k, v in model_to_dict(policy).items()}
        data["first_response_amount"] = policy.first_response_amount + 2
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(
                reverse("admin:sla_slapolicy_change", args=[policy.pk]), data, follow=True
            )
    assert b"deadlines are being recomputed" in response.content
    assert (
        SlaPolicy.objects.get(pk=policy.pk).first_response_amount == data["first_response_amount"]
    )
    after = TicketSla.objects.get(pk=ticket.pk)
    assert after.first_response_due > before.first_response_due
