"""Macros, mentions, notifications, presence and agent-created tickets."""

from __future__ import annotations

import pytest

from tests.factories import open_ticket
from tickets import services
from tickets.models import Channel, Direction, Ticket
from tickets.services import MessageIn
from workspace import presence
from workspace.models import AgentProfile, Macro, Notification

pytestmark = pytest.mark.django_db(transaction=True)


def test_macro_fills_placeholders_and_actions(desk, departments, anna, desk_agent):
    macro = Macro.objects.create(
        name="Auth code",
        body="Hello {customer_name}, about {ticket_number} (reseller {reseller_id}): {nope}",
        set_status="pending_customer",
        assign="me",
        add_tags="transfer",
    )
    ticket = open_ticket(subject="Transfer", contact=anna)
    html = desk.get(
        f"/desk/t/{ticket.number}/macro/?macro={macro.pk}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f"Hello Anna de Vries, about {ticket.reference} (reseller 200417): {{nope}}" in html
    assert '<option value="pending_customer" selected>' in html
    assert f'value="{desk_agent.pk}"' in html and 'value="transfer"' in html


def test_macros_for_other_lines_are_not_offered(departments, anna, desk_agent):
    from workspace.access import agent_profile
    from workspace.macros import for_ticket

    Macro.objects.create(name="Any line", body="x")
    Macro.objects.create(name="Line 99", body="y", line_id=99)
    Macro.objects.create(name="Russian", body="z", language="ru")
    ticket = open_ticket(subject="t", contact=anna)
    names = [m.name for m in for_ticket(ticket, agent_profile(desk_agent))]
    assert names == ["Any line", "Russian"]


def test_mention_in_a_note_notifies_the_agent(desk, departments, anna, other_agent):
    ticket = open_ticket(subject="Help", contact=anna)
    desk.post(f"/desk/t/{ticket.number}/note/", {"body": "@bob can you check the registry?"})
    note = Notification.objects.get(recipient=other_agent)
    assert note.kind == "mention" and ticket.reference in note.text
    # Posting the same note's notification again records nothing new (once per source).
    from workspace import notify

    message = ticket.messages.get(channel=Channel.NOTE)
    notify.mentions(message, [other_agent], other_agent)
    assert Notification.objects.filter(recipient=other_agent).count() == 1


def test_assignment_and_customer_reply_notify_the_assignee(
    departments, anna, desk_agent, other_agent
):
    ticket = open_ticket(subject="Mine", contact=anna)
    services.ticket_assign(ticket=ticket, assignee=other_agent, actor=desk_agent)
    services.message_add(
        ticket=ticket,
        message=MessageIn(channel=Channel.EMAIL, body_text="any news?", author_contact=anna),
    )
    kinds = sorted(
        Notification.objects.filter(recipient=other_agent).values_list("kind", flat=True)
    )
    assert kinds == ["assigned", "customer_reply"]
    # Assigning yourself is no news; a muted kind is not recorded.
    AgentProfile.objects.update_or_create(
        user=desk_agent, defaults={"muted_kinds": ["customer_reply"]}
    )
    services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=desk_agent)
    services.message_add(
        ticket=ticket,
        message=MessageIn(channel=Channel.EMAIL, body_text="hello?", author_contact=anna),
    )
    assert not Notification.objects.filter(recipient=desk_agent).exists()


def test_notification_poll_reports_new_ones(desk, departments, anna, desk_agent, other_agent):
    ticket = open_ticket(subject="Poll", contact=anna)
    services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=other_agent)
    data = desk.get("/desk/notifications/poll/?after=0").json()
    assert data["unread"] == 1 and "Assigned to you" in data["items"][0]["text"]
    assert desk.get(f"/desk/notifications/poll/?after={data['latest']}").json()["items"] == []
    desk.get("/desk/notifications/")  # reading the list marks them read
    assert desk.get("/desk/notifications/poll/?after=0").json()["unread"] == 0


def test_sla_alerts_become_notifications_for_the_assignee(departments, anna, desk_agent):
    from django.utils import timezone

    from sla.models import SlaAlert
    from workspace.notify import sla_alerts_collect

    ticket = open_ticket(subject="Late", contact=anna)
    services.ticket_assign(ticket=ticket, assignee=desk_agent)
    SlaAlert.objects.create(
        ticket=ticket, target="first_response", kind="breached", due_at=timezone.now()
    )
    sla_alerts_collect()
    sla_alerts_collect()  # once per alert
    note = Notification.objects.get(recipient=desk_agent, kind="sla_breached")
    assert "SLA breached (first response)" in note.text


def test_two_agents_see_each_other_and_who_types(
    client, departments, anna, desk_agent, other_agent
):
    ticket = open_ticket(subject="Busy", contact=anna)
    presence.seen(ticket.pk, other_agent, typing=True)
    client.force_login(desk_agent)
    html = client.post(f"/desk/t/{ticket.number}/presence/", {"version": "0"}).content.decode()
    assert "Bob Agent is typing a reply" in html
    assert [v.name for v in presence.others(ticket.pk, other_agent.pk)] == ["Alice Agent"]


def test_presence_poll_tells_when_the_ticket_changed(desk, departments, anna, other_agent):
    ticket = open_ticket(subject="Changing", contact=anna)
    version = services.ticket_version(ticket.pk)
    services.ticket_assign(ticket=ticket, assignee=other_agent, actor=other_agent)
    html = desk.post(f"/desk/t/{ticket.number}/presence/", {"version": version}).content.decode()
    assert "Changed since you opened it" in html and "assigned it to Bob Agent" in html


def test_agent_opens_a_ticket_from_a_phone_call(desk, departments, anna, desk_agent):
    response = desk.post(
        "/desk/new/",
        {
            "contact_phone": "",
            "contact_email": "anna@northwind.example",
            "subject": "Called in",
            "channel": "phone",
            "body": "Customer called about the transfer",
            # The reseller's line takes calls (the vendor's is text only).
            "department": departments["reseller-support"].pk,
            "severity": "2",
            "assign_to_me": "on",
        },
    )
    ticket = Ticket.objects.get(subject="Called in")
    assert response.url == f"/desk/t/{ticket.number}/"
    assert (ticket.contact, ticket.origin_channel, ticket.assignee) == (anna, "phone", desk_agent)
    first = ticket.messages.get()
    assert first.direction == Direction.INBOUND and first.metadata["opened_by"] == "alice"


def test_signature_is_added_to_answers(desk, departments, anna, desk_agent):
    AgentProfile.objects.update_or_create(
        user=desk_agent, defaults={"signature": "-- Alice, Support"}
    )
    ticket = open_ticket(subject="Sig", contact=anna, channel="portal")
    desk.post(
        f"/desk/t/{ticket.number}/reply/",
        {
            "version": services.ticket_version(ticket.pk),
            "channel": "portal",
            "body": "Done.",
            "signature": "on",
        },
    )
    assert (
        ticket.messages.get(direction=Direction.OUTBOUND).body_text == "Done.\n\n-- Alice, Support"
    )


def test_agent_language_and_zone(desk, departments, desk_agent):
    desk.post(
        "/desk/settings/",
        {"time_zone": "Europe/Moscow", "language": "ru", "notify": ["assigned"], "sound": "on"},
    )
    profile = AgentProfile.objects.get(user=desk_agent)
    assert profile.time_zone == "Europe/Moscow" and "mention" in profile.muted_kinds
    page = desk.get("/desk/views/mine/")
    assert page["Content-Language"] == "ru"
    assert "Europe/Moscow" in page.content.decode()
    assert "Мои" in page.content.decode()
