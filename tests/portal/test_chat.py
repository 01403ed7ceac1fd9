"""Live chat: offered only in chat hours with an agent online; lines become chat messages."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from channels_app.chat.models import ChatConversation
from portal.hours import chat_phone_open
from portal.presence import agents_online, chat_available, presence_set
from tickets.models import Channel, Direction

# Chat hours come from the SLA calendar row: ensured, in case a flush removed it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("chat_calendar")]
# Wednesday 2026-06-03 12:00 Amsterdam (CEST, UTC+2) = 10:00 UTC.
WEDNESDAY_NOON = "2026-06-03 10:00Z"


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        ("2026-06-03 07:29Z", False),  # 09:29 Amsterdam
        ("2026-06-03 07:30Z", True),  # 09:30
        ("2026-06-03 14:59Z", True),  # 16:59
        ("2026-06-03 15:00Z", False),  # 17:00
        ("2026-06-05 08:29Z", True),  # Friday 10:29
        ("2026-06-05 08:30Z", False),  # Friday meeting 10:30-13:30
        ("2026-06-05 11:30Z", True),  # Friday 13:30
        ("2026-06-05 13:15Z", False),  # Friday 15:15, second meeting
        ("2026-06-06 10:00Z", False),  # Saturday
        ("2026-01-07 09:00Z", True),  # winter: 10:00 CET
        ("2026-01-07 16:00Z", False),  # winter: 17:00 CET
    ],
)
def test_chat_and_phone_hours(utc, open_):
    at = datetime.fromisoformat(utc.replace("Z", "+00:00"))
    assert chat_phone_open(at) is open_


def test_presence_expires_without_heartbeat(agent, settings):
    settings.SUPPORTDESK_PRESENCE_TIMEOUT = 90
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        presence_set(user=agent, available=True)
        assert agents_online() == 1 and chat_available()
    with time_machine.travel("2026-06-03 10:01:31Z", tick=False):
        assert agents_online() == 0 and not chat_available()
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        presence_set(user=agent, available=False)
        assert not chat_available()


def test_chat_falls_back_to_ticket_form_when_closed_or_nobody_online(signed_in, agent):
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        response = signed_in.get("/portal/chat/")  # open, but no agent online
        assert response["Location"].startswith("/portal/tickets/new/")
        presence_set(user=agent, available=True)
        assert signed_in.get("/portal/chat/").status_code == 200
    with time_machine.travel("2026-06-06 10:00Z", tick=False):  # Saturday
        presence_set(user=agent, available=True)
        response = signed_in.post("/portal/chat/", {"text": "my zone is broken"})
        assert response["Location"].startswith("/portal/tickets/new/?subject=my+zone")


def test_chat_lines_from_both_sides_land_on_one_ticket(signed_in, anna, agent, departments):
    with time_machine.travel(WEDNESDAY_NOON):
        presence_set(user=agent, available=True)
        response = signed_in.post("/portal/chat/", {"text": "Hello, DNS is down"})
        conversation = ChatConversation.objects.get()
        assert response["Location"] == f"/portal/chat/{conversation.conversation_id}/"
        signed_in.post(f"/portal/chat/{conversation.conversation_id}/send/", {"text": "still?"})
        from django.test import Client

        admin = Client()
        admin.force_login(agent)
        agent.is_superuser = True
        agent.save()
        page = admin.get("/admin/portal/chatconversation/live/")
        assert conversation.ticket.reference in page.content.decode()
        admin.post(f"/admin/portal/chatconversation/live/{conversation.pk}/", {"text": "Looking"})
        lines = signed_in.get(
            f"/portal/chat/{conversation.conversation_id}/lines.json?after=0"
        ).json()["lines"]
    assert [(line["who"], line["text"]) for line in lines] == [
        ("customer", "Hello, DNS is down"),
        ("customer", "still?"),
        ("agent", "Looking"),
    ]
    ticket = conversation.ticket
    assert ticket.contact == anna and ticket.origin_channel == Channel.CHAT
    assert set(ticket.messages.values_list("channel", flat=True)) == {Channel.CHAT}
    assert ticket.messages.filter(direction=Direction.OUTBOUND).get().author_user == agent


def test_someone_elses_chat_is_not_visible(signed_in, mallory, agent, departments):
    from django.test import Client

    from .conftest import sign_in_link

    with time_machine.travel(WEDNESDAY_NOON):
        presence_set(user=agent, available=True)
        signed_in.post("/portal/chat/", {"text": "private"})
        conversation = ChatConversation.objects.get()
        other = Client()
        other.post("/portal/sign-in/", {"email": "mallory@other.example"})
        other.post(sign_in_link())
        url = f"/portal/chat/{conversation.conversation_id}/lines.json"
        assert other.get(url).status_code == 404
        assert (
            other.post(
                f"/portal/chat/{conversation.conversation_id}/send/", {"text": "x"}
            ).status_code
            == 404
        )


def _chat(signed_in, agent, text: str) -> ChatConversation:
    with time_machine.travel(WEDNESDAY_NOON):
        presence_set(user=agent, available=True)
        signed_in.post("/portal/chat/", {"text": text})
    return ChatConversation.objects.get(ticket__messages__body_text=text)


def test_admin_ticket_page_links_to_its_live_chat(signed_in, agent, admin, departments):
    """The ticket page shows each chat of the ticket with a link to its chat window."""
    from django.urls import reverse

    from channels_app.chat.conversations import chat_end
    from tests.factories import open_ticket

    conversation = _chat(signed_in, agent, "Hello, DNS is down")
    ticket_page = reverse("admin:tickets_ticket_change", args=[conversation.ticket_id])
    chat_window = reverse("admin:portal_chat_detail", args=[conversation.pk])
    page = admin.get(ticket_page).content.decode()
    assert 'id="chat-panel"' in page and f'href="{chat_window}"' in page
    assert "answer it in the chat window" in page

    chat_end(conversation)
    page = admin.get(ticket_page).content.decode()
    assert f'href="{chat_window}"' in page and "ended" in page  # the transcript stays linked

    other = open_ticket(subject="By email")
    page = admin.get(reverse("admin:tickets_ticket_change", args=[other.pk])).content.decode()
    assert 'id="chat-panel"' not in page


def test_survivor_of_a_merge_links_the_merged_tickets_chat(signed_in, agent, admin, departments):
    from django.urls import reverse

    from tests.factories import open_ticket
    from tickets.services import ticket_merge

    conversation = _chat(signed_in, agent, "Transfer stuck")
    survivor = open_ticket(subject="Transfer stuck (email)")
    ticket_merge(source=conversation.ticket, target=survivor, actor=agent)
    page = admin.get(reverse("admin:tickets_ticket_change", args=[survivor.pk])).content.decode()
    chat_window = reverse("admin:portal_chat_detail", args=[conversation.pk])
    assert f'href="{chat_window}"' in page
    assert f"came in on {conversation.ticket.reference}, merged here" in page


def test_agents_who_may_not_answer_see_the_chat_without_a_link(signed_in, agent, departments):
    from django.contrib.auth.models import Permission
    from django.test import Client
    from django.urls import reverse

    from tests.factories import AgentFactory

    conversation = _chat(signed_in, agent, "Read only please")
    viewer = AgentFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = Client()
    client.force_login(viewer)
    page = client.get(reverse("admin:tickets_ticket_change", args=[conversation.ticket_id]))
    html = page.content.decode()
    assert 'id="chat-panel"' in html and conversation.conversation_id in html
    assert reverse("admin:portal_chat_detail", args=[conversation.pk]) not in html
