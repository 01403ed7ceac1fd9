"""Actors of the workspace tests: agents with the admin's ticket permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.factories import AgentFactory


def grant_ticket_permissions(user, *, change: bool = True) -> None:
    codenames = ["view_ticket", *(["change_ticket"] if change else [])]
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="tickets", codename__in=codenames)
    )


@pytest.fixture
def desk_agent(db):
    """Alice, a staff agent with the view/change ticket permissions (not a superuser)."""
    user = AgentFactory(
        username="alice", first_name="Alice", last_name="Agent", email="alice@desk.example"
    )
    grant_ticket_permissions(user)
    return user


@pytest.fixture
def other_agent(db):
    """Bob, a second agent."""
    user = AgentFactory(
        username="bob", first_name="Bob", last_name="Agent", email="bob@desk.example"
    )
    grant_ticket_permissions(user)
    return user


@pytest.fixture
def desk(client, desk_agent):
    """A test client signed in as Alice."""
    client.force_login(desk_agent)
    return client
