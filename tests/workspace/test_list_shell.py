"""The list page's shell (workspace/shell.py) is kept per agent, language and view, and
everything else on the page is the request's own: rows, CSRF token, messages, search box."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory, open_ticket
from tickets.models import Department
from workspace import shell
from workspace.models import AgentProfile

from .conftest import grant_ticket_permissions

# Real commits: the list rows are refreshed when a change commits (as in production).
pytestmark = pytest.mark.django_db(transaction=True)

MINE = "/desk/views/mine/"
UNASSIGNED = "/desk/views/unassigned/"


@pytest.fixture(autouse=True)
def _no_shells_from_other_tests():
    shell.clear()
    yield
    shell.clear()


def _signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _page(client: Client, url: str = UNASSIGNED) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_each_agent_and_language_gets_its_own_shell(desk, desk_agent, other_agent, departments):
    desk_agent.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    alice = _page(desk)
    assert 'title="Settings">Alice Agent</a>' in alice and 'id="dashboards-link"' in alice
    bob = _page(_signed_in(other_agent))
    assert (
        'title="Settings">Bob Agent</a>' in bob and "Alice Agent</a>" not in bob.split("<main")[0]
    )
    assert 'id="dashboards-link"' not in bob
    AgentProfile.objects.update_or_create(user=desk_agent, defaults={"language": "ru"})
    assert '<html lang="ru">' in _page(desk)
    assert '<html lang="en">' in _page(_signed_in(other_agent))


def test_the_shell_follows_agents_departments_and_permissions(desk, desk_agent, departments):
    desk_agent.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    assert 'id="dashboards-link"' in _page(desk)
    carol = AgentFactory(username="carol", first_name="Carol", last_name="New")
    grant_ticket_permissions(carol)
    Department.objects.filter(pk=departments["legal-abuse"].pk).update(name="Renamed desk")
    desk_agent.user_permissions.remove(Permission.objects.get(codename="view_dashboard"))
    page = _page(desk)
    assert f'<option value="{carol.pk}">Carol New</option>' in page
    assert ">Renamed desk</option>" in page
    assert 'id="dashboards-link"' not in page


def test_rows_are_read_per_request(desk, departments):
    assert 'class="empty"' in _page(desk)
    ticket = open_ticket(subject="Arrived after the first page")
    page = _page(desk)
    assert f'<tr data-ticket="{ticket.number}">' in page and 'class="empty"' not in page


def _token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_each_session_gets_its_own_csrf_token(desk_agent, departments):
    ticket = open_ticket(subject="Bulk me")
    for _browser in range(2):  # the second browser's page comes from the kept shell
        client = _signed_in(desk_agent, enforce_csrf_checks=True)
        html = _page(client)
        assert f'"X-CSRFToken": "{_token(html)}"' in html
        done = client.post(
            "/desk/bulk/",
            {
                "csrfmiddlewaretoken": _token(html),
                "action": "status",
                "value": "pending_customer",
                "ticket": [ticket.pk],
                "next": UNASSIGNED,
            },
        )
        # 403 if the page carried the first browser's token (its cookie's secret).
        assert done.status_code == 302, done.status_code


def test_search_box_path_and_messages_are_the_requests_own(desk, departments):
    page = _page(desk, UNASSIGNED + "?q=%3Cb%3Ex%3C/b%3E")
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in page and "<b>x</b>" not in page
    assert 'name="next" value="/desk/views/unassigned/?q=%3Cb%3Ex%3C/b%3E"' in page
    ticket = open_ticket(subject="Flash")
    desk.post(
        "/desk/bulk/", {"action": "status", "value": "pending_customer", "ticket": [ticket.pk]}
    )
    flashed = _page(desk)
    assert '<ul class="messages" role="status"><li class="success">' in flashed
    assert 'class="messages"' not in _page(desk)  # shown once


def test_a_list_page_reads_agent_sidebar_and_rows_in_three_statements(desk, departments):
    open_ticket(subject="One")
    _page(desk)
    with CaptureQueriesContext(connection) as captured:
        _page(desk)
    sql = [q["sql"] for q in captured.captured_queries if "django_session" not in q["sql"]]
    assert len(sql) == 3, sql
    agent, sidebar, rows = sql
    assert "workspace_agentprofile" in agent and "auth_permission" in agent
    assert "workspace_savedview" in sidebar and "tickets_department" in sidebar
    assert "workspace_ticketrow" in rows


def test_rows_and_the_bulk_bar_speak_each_agents_language(desk, desk_agent, departments):
    # The rows' words are kept per language (listing._words); the bulk bar's choices are
    # read by the template when the shell is made.
    from django.utils import translation

    open_ticket(subject="Printer on fire")
    english = _page(desk)
    assert '<span class="status st-new">New</span>' in english
    assert '<option value="open">Open</option>' in english
    AgentProfile.objects.update_or_create(user=desk_agent, defaults={"language": "ru"})
    russian = _page(desk)
    with translation.override("ru"):
        new, open_ = translation.gettext("New"), translation.gettext("Open")
    assert new != "New" and open_ != "Open"
    assert f'<span class="status st-new">{new}</span>' in russian
    assert f'<option value="open">{open_}</option>' in russian
    assert _page(desk).count(f'<span class="status st-new">{new}</span>') == 1
    AgentProfile.objects.update_or_create(user=desk_agent, defaults={"language": "en"})
    assert '<span class="status st-new">New</span>' in _page(desk)
