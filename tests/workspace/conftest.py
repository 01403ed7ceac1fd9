"""Actors of the workspace tests: agents with the admin's ticket permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.factories import AgentFactory


def set_due(ticket, due, risk_at=None) -> None:
    """Give the ticket a running first-response deadline, as an SLA recompute would, and
    refresh its list row."""
    from sla.models import TicketSla
    from workspace.rows import rows_refresh

    TicketSla.objects.update_or_create(
        ticket=ticket,
        defaults={
            "first_response_due": due,
            "first_response_state": "running",
            "explanation": {
                "targets": {"first_response": {"risk_at": risk_at.isoformat() if risk_at else None}}
            },
        },
    )
    rows_refresh([ticket.pk])


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
