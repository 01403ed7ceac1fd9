"""Notification copies by email: through the outbox, in the agent's language, as each
agent chose, once per thing that happened."""

from __future__ import annotations

import pytest
from django.utils import timezone

from outbox.models import MailKind, OutgoingMail
from tests.factories import open_ticket
from tests.outbox_helpers import deliver
from tickets import services
from tickets.models import Channel
from tickets.services import MessageIn
from workspace import notify
from workspace.models import AgentProfile, Notification

pytestmark = pytest.mark.django_db(transaction=True)


def _mails(to: str) -> list[OutgoingMail]:
    return list(OutgoingMail.objects.filter(kind=MailKind.AGENT_NOTICE, to_email=to))


def test_an_assignment_is_mailed_in_the_agents_language_through_the_outbox(
    departments, anna, desk_agent, other_agent
):
    AgentProfile.objects.update_or_create(user=other_agent, defaults={"language": "ru"})
    ticket = open_ticket(subject="Перенос домена", contact=anna)
    services.ticket_assign(ticket=ticket, assignee=other_agent, actor=desk_agent)
    [stored] = _mails("bob@desk.example")
    assert stored.ticket_id == ticket.pk and stored.headers["Auto-Submitted"] == "auto-generated"
    sent = [m for m in deliver() if m.to == ["bob@desk.example"]]
    assert len(sent) == 1
    assert sent[0].subject == f"Назначена вам: {ticket.reference} Перенос домена"
    assert f"http://127.0.0.1:8000/desk/t/{ticket.number}/" in sent[0].body
    note = Notification.objects.get(recipient=other_agent)
    assert note.text == sent[0].subject  # the workspace says the same, in Russian too


def test_each_agent_chooses_what_comes_by_mail(desk, departments, anna, desk_agent, other_agent):
    desk.post(
        "/desk/settings/",
        {
            "time_zone": "Europe/Amsterdam",
            "language": "en",
            "notify": ["assigned", "customer_reply", "mention"],
            "email": ["mention"],
        },
    )
    assert AgentProfile.objects.get(user=desk_agent).email_kinds == ["mention"]
    ticket = open_ticket(subject="Quiet", contact=anna)
    services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=other_agent)
    assert _mails("alice@desk.example") == []  # assignment: in the workspace only
    desk.force_login(other_agent)  # Bob mentions Alice in a note
    desk.post(f"/desk/t/{ticket.number}/note/", {"body": "@alice please look"})
    [mention] = _mails("alice@desk.example")
    assert "Bob Agent mentioned you on" in mention.subject


def test_a_kind_muted_in_the_workspace_can_still_come_by_mail(departments, anna, other_agent):
    AgentProfile.objects.update_or_create(
        user=other_agent,
        defaults={"muted_kinds": ["customer_reply"], "email_kinds": ["customer_reply"]},
    )
    ticket = open_ticket(subject="Mail only", contact=anna)
    services.ticket_assign(ticket=ticket, assignee=other_agent)
    services.message_add(
        ticket=ticket,
        message=MessageIn(channel=Channel.EMAIL, body_text="news?", author_contact=anna),
    )
    assert [m.subject for m in _mails("bob@desk.example")] == [
        f"Customer replied: {ticket.reference} Mail only"
    ]
    assert not Notification.objects.filter(
        recipient=other_agent, kind="customer_reply", in_workspace=True
    ).exists()


def test_sla_alerts_are_not_mailed_twice_and_nothing_twice(departments, anna, other_agent):
    from sla.models import SlaAlert

    AgentProfile.objects.update_or_create(
        user=other_agent, defaults={"email_kinds": ["assigned", "sla_breached"]}
    )
    ticket = open_ticket(subject="Late", contact=anna)
    services.ticket_assign(ticket=ticket, assignee=other_agent)
    SlaAlert.objects.create(
        ticket=ticket, target="first_response", kind="breached", due_at=timezone.now()
    )
    notify.sla_alerts_collect()
    notify.sla_alerts_collect()
    # The SLA checks mail breaches themselves (sla.scan); the workspace adds none.
    assert [m.subject.split(":")[0] for m in _mails("bob@desk.example")] == ["Assigned to you"]
    event = ticket.events.get(kind="assigned")
    again = notify.Notice(other_agent.pk, "assigned", ticket, f"event:{event.pk}", {"ticket": "x"})
    assert notify.record([again]) == 0 and len(_mails("bob@desk.example")) == 1
