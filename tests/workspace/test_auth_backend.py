"""The staff login backend: ModelBackend's permissions, read in fewer queries."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory
from workspace.auth import AgentBackend

pytestmark = pytest.mark.django_db


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # no permission cache


def test_permissions_are_model_backends(db):
    perms = Permission.objects.filter(content_type__app_label="tickets")
    team = Group.objects.create(name="Team")
    team.permissions.add(*perms.filter(codename__in=["view_ticket", "change_tag"]))
    direct = AgentFactory(username="direct")
    direct.user_permissions.add(perms.get(codename="change_ticket"))
    grouped = AgentFactory(username="grouped")
    grouped.groups.add(team)
    both = AgentFactory(username="both")
    both.groups.add(team)
    both.user_permissions.add(perms.get(codename="view_ticket"))
    inactive = AgentFactory(username="gone", is_active=False)
    inactive.groups.add(team)
    boss = AgentFactory(username="boss", is_superuser=True)
    nobody = AgentFactory(username="nobody")
    for user in (direct, grouped, both, inactive, boss, nobody):
        expected = ModelBackend().get_all_permissions(_fresh(user))
        assert AgentBackend().get_all_permissions(_fresh(user)) == expected, user.username
    assert AgentBackend().get_all_permissions(_fresh(grouped)) == {
        "tickets.view_ticket",
        "tickets.change_tag",
    }


def test_a_workspace_request_reads_the_agent_once(desk):
    desk.get("/desk/counts/")
    with CaptureQueriesContext(connection) as captured:
        assert desk.get("/desk/counts/").status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    users = [s for s in sql if 'FROM "auth_user"' in s]
    profiles = [s for s in sql if '"workspace_agentprofile"' in s]
    permissions = [s for s in sql if '"auth_permission"' in s]
    # One statement reads all three (workspace.auth.AgentBackend.get_user).
    assert users == profiles == permissions and len(users) == 1


def test_sessions_signed_in_through_model_backend_still_work(client, desk_agent):
    client.force_login(desk_agent, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/desk/views/mine/").status_code == 200


def test_get_user_reads_user_profile_and_permissions_in_one_statement(desk_agent):
    from workspace.models import AgentProfile

    AgentProfile.objects.update_or_create(
        user=desk_agent, defaults={"language": "ru", "muted_kinds": ["mention"]}
    )
    with CaptureQueriesContext(connection) as captured:
        user = AgentBackend().get_user(desk_agent.pk)
        permissions = AgentBackend().get_all_permissions(user)
        profile = user.desk_profile
    assert len(captured.captured_queries) == 1
    assert (profile.language, profile.muted_kinds) == ("ru", ["mention"])
    assert permissions == ModelBackend().get_all_permissions(_fresh(desk_agent))
    assert "tickets.change_ticket" in permissions
    boss = AgentFactory(username="boss", is_superuser=True)
    assert AgentBackend().get_user(boss.pk).has_perm("reports.view_dashboard")
    plain = AgentFactory(username="noprofile")
    assert AgentBackend().get_user(plain.pk).get_all_permissions() == set()
    assert AgentBackend().get_user(999999) is None
