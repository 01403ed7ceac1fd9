"""The sidebar's counts kept per process between changes (workspace/counts.py): never
shown stale after a change or a due moment, never another agent's, never before the
permission check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import open_ticket
from tickets import services
from workspace import counts, queues
from workspace.models import TicketRow
from workspace.rows import rows_tick

# Real commits: the version moves after the commit that changed the rows, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def _poll(client) -> tuple[str, int]:
    """Return the counts fragment and how many counting statements it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/desk/counts/?current=mine")
    assert response.status_code == 200
    counted = sum("COUNT(*)" in q["sql"] for q in captured.captured_queries)
    return response.content.decode(), counted


def _count(html: str, key: str) -> str:
    return html.split(f'data-count="{key}">', 1)[1].split("<", 1)[0]


# Kept on PostgreSQL only (the version is a sequence); SQLite counts every poll.
@pytest.mark.postgres
def test_a_poll_without_a_change_is_not_counted_again_and_a_change_shows_at_once(
    desk, departments, desk_agent
):
    tickets = [open_ticket(subject=f"k{n}") for n in range(3)]
    first, counted = _poll(desk)
    assert counted == 1 and _count(first, "unassigned") == "3" and _count(first, "mine") == "0"
    again, counted = _poll(desk)
    assert counted == 0 and again == first

    services.ticket_assign(ticket=tickets[0], assignee=desk_agent)
    after, counted = _poll(desk)
    assert counted == 1
    assert _count(after, "unassigned") == "2" and _count(after, "mine") == "1"
    services.message_add(
        ticket=tickets[1],
        message=services.MessageIn(
            channel="note", direction="internal", body_text="n", author_user=desk_agent
        ),
        actor=desk_agent,
    )
    _html, counted = _poll(desk)
    assert counted == 1  # any change of the rows: counted anew


def test_the_minute_beats_row_changes_move_the_version_too(desk, departments):
    ticket = open_ticket(subject="risky")
    now = timezone.now()
    TicketRow.objects.filter(ticket=ticket).update(
        sla_risk_at=now - timedelta(minutes=1), due_sort=now + timedelta(hours=1)
    )
    counts.changed()  # what rows.py does after its writes (the update above is the test's)
    before, _n = _poll(desk)
    assert _count(before, "at-risk") == "0"
    assert rows_tick(now)["risk_reached"] == 1
    after, counted = _poll(desk)
    assert counted == 1 and _count(after, "at-risk") == "1"


# Kept on PostgreSQL only (the version is a sequence); SQLite counts every poll.
@pytest.mark.postgres
def test_a_due_moment_passing_is_counted_without_any_change(departments, desk_agent, settings):
    from tests.workspace.conftest import set_due

    ticket = open_ticket(subject="due soon")
    now = timezone.now()
    due = now + timedelta(minutes=5)
    set_due(ticket, due, risk_at=now - timedelta(minutes=1))
    rows_tick(now)
    bar = queues.sidebar(desk_agent, version=True)
    views = [v for v in bar.views if v.group != "saved"]
    early = counts.kept_counts(views, desk_agent, now, bar.version)
    assert early["breached"] == 0 and early["at-risk"] == 1
    with CaptureQueriesContext(connection) as captured:
        kept = counts.kept_counts(views, desk_agent, due - timedelta(seconds=1), bar.version)
    assert kept == early and not captured.captured_queries
    # The same version, past the due moment: counted again, not the kept counts.
    late = counts.kept_counts(views, desk_agent, due + timedelta(seconds=1), bar.version)
    assert late["breached"] == 1 and late["at-risk"] == 0


def test_kept_counts_are_each_agents_own(client, departments, desk_agent, other_agent):
    ticket = open_ticket(subject="bobs")
    services.ticket_assign(ticket=ticket, assignee=other_agent)
    client.force_login(desk_agent)
    alice, _n = _poll(client)
    client.force_login(other_agent)
    bob, counted = _poll(client)
    assert counted == 1  # the same version and views, another principal: not Alice's entry
    assert _count(alice, "mine") == "0" and _count(bob, "mine") == "1"


def test_the_permission_is_checked_before_the_kept_counts(desk, departments, desk_agent):
    open_ticket(subject="secret")
    assert _count(_poll(desk)[0], "unassigned") == "1"
    desk_agent.user_permissions.remove(Permission.objects.get(codename="view_ticket"))
    assert desk.get("/desk/counts/?current=mine").status_code == 403
    desk_agent.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    desk_agent.is_active = False
    desk_agent.save()
    assert desk.get("/desk/counts/?current=mine").status_code == 302  # signed out


def test_zero_seconds_counts_every_poll(desk, departments, settings):
    settings.SUPPORTDESK_COUNTS_SECONDS = 0
    open_ticket(subject="uncached")
    assert _poll(desk)[1] == 1
    assert _poll(desk)[1] == 1


def test_the_workspace_view_gets_the_user_itself_not_the_lazy_stand_in(rf, desk_agent):
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.http import HttpResponse

    from workspace.access import agent_required

    seen = []

    @agent_required
    def view(request):
        seen.append(request.user)
        return HttpResponse("ok")

    request = rf.get("/desk/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    request.session["_auth_user_id"] = str(desk_agent.pk)
    request.session["_auth_user_backend"] = "workspace.auth.AgentBackend"
    request.session["_auth_user_hash"] = desk_agent.get_session_auth_hash()
    AuthenticationMiddleware(lambda r: HttpResponse()).process_request(request)
    assert view(request).status_code == 200
    assert type(seen[0]) is type(desk_agent) and seen[0].pk == desk_agent.pk
