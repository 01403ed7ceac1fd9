"""The ticket page is written in Python (workspace/ticket_html.py) inside the workspace
frame, which is kept per agent and language (workspace/shell.py): the frame names the
signed-in agent, each request carries its own CSRF token and messages, and the values
shown are escaped as the templates it replaces escaped them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import open_ticket
from tickets.services import ticket_version
from workspace import presence, shell
from workspace.models import AgentProfile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_shells_from_other_tests():
    shell.clear()
    yield
    shell.clear()


def _signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _page(client: Client, number: int) -> str:
    response = client.get(f"/desk/t/{number}/")
    assert response.status_code == 200
    return response.content.decode()


def _token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_each_agent_and_language_gets_its_own_frame(desk, desk_agent, other_agent, departments):
    ticket = open_ticket(subject="Frame")
    desk_agent.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    alice = _page(desk, ticket.number)
    assert 'title="Settings">Alice Agent</a>' in alice and 'id="dashboards-link"' in alice
    bob = _page(_signed_in(other_agent), ticket.number)
    assert 'title="Settings">Bob Agent</a>' in bob and "Alice Agent</a>" not in bob
    assert 'id="dashboards-link"' not in bob
    AgentProfile.objects.update_or_create(user=desk_agent, defaults={"language": "ru"})
    russian = _page(desk, ticket.number)
    assert '<html lang="ru">' in russian and "Ответ клиенту" in russian
    assert '<html lang="en">' in _page(_signed_in(other_agent), ticket.number)


def test_each_session_posts_with_its_own_csrf_token(desk_agent, departments):
    ticket = open_ticket(subject="Two browsers")
    for browser in range(2):  # the second browser's page comes from the kept frame
        client = _signed_in(desk_agent, enforce_csrf_checks=True)
        html = _page(client, ticket.number)
        assert f'"X-CSRFToken": "{_token(html)}"' in html
        done = client.post(
            f"/desk/t/{ticket.number}/note/",
            {
                "csrfmiddlewaretoken": _token(html),
                "body": f"Note from browser {browser}",
                "version": ticket_version(ticket.pk),
            },
        )
        assert done.status_code == 302, done.status_code  # 403 with another's token
        assert f"Note from browser {browser}" in _page(client, ticket.number)


def test_title_subject_and_tags_are_escaped_and_messages_shown_once(desk, departments):
    ticket = open_ticket(subject="<script>alert(1)</script> & more")
    page = _page(desk, ticket.number)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more · SupportDesk</title>" in page
    desk.post(
        f"/desk/t/{ticket.number}/update/",
        {"version": ticket_version(ticket.pk), "tags": "<b>vip</b>"},
    )
    flashed = _page(desk, ticket.number)
    assert '<ul class="messages" role="status"><li class="' in flashed
    assert "<b>vip</b>" not in flashed
    assert 'class="messages"' not in _page(desk, ticket.number)  # shown once


def test_other_viewers_are_named_escaped(desk, other_agent, departments):
    ticket = open_ticket(subject="Watched")
    other_agent.first_name, other_agent.last_name = "<i>Bob</i>", "Agent"
    other_agent.save()
    presence.seen(ticket.pk, other_agent, typing=True)
    page = _page(desk, ticket.number)
    assert f'data-user="{other_agent.pk}">&lt;i&gt;Bob&lt;/i&gt; Agent is typing a reply' in page


def test_a_stale_change_is_refused_with_the_news(desk, other_agent, departments):
    ticket = open_ticket(subject="Stale")
    version = ticket_version(ticket.pk)
    _signed_in(other_agent).post(
        f"/desk/t/{ticket.number}/update/", {"version": version, "status": "pending_customer"}
    )
    refused = desk.post(f"/desk/t/{ticket.number}/update/", {"version": version, "severity": "1"})
    assert refused.status_code == 409
    html = refused.content.decode()
    assert 'id="stale-news"' in html and "Bob Agent set the status to" in html
    assert f'<input type="hidden" name="version" value="{ticket_version(ticket.pk)}">' in html
