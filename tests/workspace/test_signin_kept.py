"""The signed-in agent kept per process (workspace.auth, supportdesk/signin.py): read once,
then used again only while the sign-in version read with the session is unchanged — a
deactivated agent, a removed permission, a changed profile or a deleted session shows on
the very next request.

Each test runs the desk's cache and sessions on a throwaway redis-server, as in
production (the version lives in Redis); real commits, as in production.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supportdesk import redis_guard, signin
from tests.redis_server import desk_cache_on
from workspace import auth
from workspace.auth import AgentBackend
from workspace.models import AgentProfile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def on_redis(settings, redis_server):
    desk_cache_on(settings, redis_server, "signin")
    redis_guard.mark_up()
    redis_guard._pending.clear()
    auth.forget_kept()
    yield redis_server
    auth.forget_kept()
    redis_guard.mark_up()
    redis_guard._pending.clear()


@pytest.fixture
def signed_in(on_redis, client, desk_agent):
    AgentProfile.objects.get_or_create(user=desk_agent)
    client.force_login(desk_agent)
    return client


def _get(client, path: str = "/desk/counts/") -> tuple[object, int]:
    """Return the answer and how many statements read the user."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, sum('FROM "auth_user"' in q["sql"] for q in captured.captured_queries)


def test_the_agent_is_read_once_then_kept(signed_in):
    response, reads = _get(signed_in)
    assert response.status_code == 200 and reads == 1
    for _ in range(3):
        response, reads = _get(signed_in)
        assert response.status_code == 200 and reads == 0


def test_a_deactivated_agent_is_refused_on_the_very_next_request(signed_in, desk_agent):
    assert _get(signed_in)[0].status_code == 200
    assert _get(signed_in)[1] == 0  # kept
    desk_agent.is_active = False
    desk_agent.save()
    response, reads = _get(signed_in)
    assert reads == 1 and response.status_code == 302 and "/login/" in response["Location"]


def test_a_removed_permission_takes_effect_at_once(signed_in, desk_agent):
    assert _get(signed_in)[0].status_code == 200
    assert _get(signed_in)[1] == 0
    desk_agent.user_permissions.remove(Permission.objects.get(codename="view_ticket"))
    assert _get(signed_in)[0].status_code == 403


def test_a_group_losing_a_permission_or_the_agent_leaving_it_shows_at_once(
    on_redis, client, desk_agent
):
    desk_agent.user_permissions.clear()
    team = Group.objects.create(name="Team")
    view = Permission.objects.get(codename="view_ticket")
    team.permissions.add(view)
    desk_agent.groups.add(team)
    AgentProfile.objects.get_or_create(user=desk_agent)  # made on the first page otherwise
    client.force_login(desk_agent)
    assert _get(client)[0].status_code == 200
    assert _get(client)[1] == 0
    team.permissions.remove(view)
    assert _get(client)[0].status_code == 403
    team.permissions.add(view)
    assert _get(client)[0].status_code == 200
    desk_agent.groups.remove(team)
    assert _get(client)[0].status_code == 403


def test_a_profile_change_shows_on_the_next_request(signed_in, desk_agent):
    assert _get(signed_in)[0]["Content-Language"] == "en"
    assert _get(signed_in)[1] == 0
    profile = AgentProfile.objects.get(user=desk_agent)
    profile.language = "ru"
    profile.save()
    assert _get(signed_in)[0]["Content-Language"] == "ru"


def test_a_deleted_session_is_refused_on_the_next_request(signed_in, settings):
    assert _get(signed_in)[0].status_code == 200
    assert _get(signed_in)[1] == 0
    key = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    from importlib import import_module

    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(key)
    store.delete()  # what signing out does
    response = signed_in.get("/desk/counts/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_each_request_gets_its_own_copies(on_redis, desk_agent):
    AgentProfile.objects.get_or_create(user=desk_agent)
    backend = AgentBackend()
    with signin.reading_user("v1"):
        first = backend.get_user(desk_agent.pk)
        first.desk_profile.muted_kinds.append("mention")
        first.first_name = "Changed"
        first._perm_cache.add("tickets.delete_ticket")
        second = backend.get_user(desk_agent.pk)
        third = backend.get_user(desk_agent.pk)
    assert second is not first and second.desk_profile is not first.desk_profile
    assert second.first_name == "Alice" and "mention" not in second.desk_profile.muted_kinds
    assert "tickets.delete_ticket" not in second._perm_cache
    assert second.has_perm("tickets.view_ticket")
    assert second.desk_profile.user is second and third.desk_profile.user is third
    with signin.reading_user("v2"), CaptureQueriesContext(connection) as captured:
        backend.get_user(desk_agent.pk)  # another version: read again
    assert len(captured.captured_queries) == 1


def test_nothing_is_kept_while_redis_is_down(signed_in, on_redis):
    assert _get(signed_in)[0].status_code == 200
    on_redis.stop()
    for _ in range(2):
        response, reads = _get(signed_in)
        assert response.status_code == 200 and reads == 1
    on_redis.start()


def test_zero_seconds_reads_the_agent_on_every_request(signed_in, settings):
    settings.SUPPORTDESK_SIGNIN_KEEP_SECONDS = 0
    for _ in range(3):
        response, reads = _get(signed_in)
        assert response.status_code == 200 and reads == 1
