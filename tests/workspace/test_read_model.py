"""The read model's states that change without a ticket event: a ticket reaching its
at-risk moment, and duplicate flags filed, dismissed or closed in bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from duplicates.models import DuplicateFlag, FlagStatus
from duplicates.services import flag_dismiss
from tests.factories import open_ticket
from workspace import queues
from workspace.models import TicketRow
from workspace.rows import rows_refresh, rows_tick

pytestmark = pytest.mark.django_db(transaction=True)


def _view(key: str, agent):
    return next(v for v in queues.agent_views(agent) if v.key == key)


def _subjects(key: str, agent, now) -> list[str]:
    rows, _ = queues.page(_view(key, agent).filters, agent, now)
    return [r.subject for r in rows]


def _clock(ticket, due, risk_at) -> None:
    from sla.models import TicketSla

    TicketSla.objects.update_or_create(
        ticket=ticket,
        defaults={
            "first_response_due": due,
            "first_response_state": "running",
            "explanation": {"targets": {"first_response": {"risk_at": risk_at.isoformat()}}},
        },
    )
    rows_refresh([ticket.pk])


def test_a_ticket_enters_at_risk_with_the_minute_beat_and_leaves_it_when_breached(
    departments, desk_agent
):
    now = timezone.now()
    ticket = open_ticket(subject="Soon at risk")
    _clock(ticket, due=now + timedelta(hours=1), risk_at=now + timedelta(minutes=10))
    assert _subjects("at-risk", desk_agent, now) == []
    later = now + timedelta(minutes=11)
    assert rows_tick(later)["risk_reached"] == 1
    assert _subjects("at-risk", desk_agent, later) == ["Soon at risk"]
    assert rows_tick(later)["risk_reached"] == 0  # marked once
    overdue = now + timedelta(hours=2)
    assert _subjects("at-risk", desk_agent, overdue) == []
    assert _subjects("breached", desk_agent, overdue) == ["Soon at risk"]
    counts = queues.bounded_counts(queues.agent_views(desk_agent), desk_agent, later)
    assert counts["at-risk"] == 1 and counts["breached"] == 0


def test_a_refresh_past_the_at_risk_moment_marks_it_at_once(departments, desk_agent):
    now = timezone.now()
    ticket = open_ticket(subject="Already at risk")
    _clock(ticket, due=now + timedelta(minutes=30), risk_at=now - timedelta(minutes=5))
    assert TicketRow.objects.get(ticket=ticket).sla_risk_reached
    assert _subjects("at-risk", desk_agent, timezone.now()) == ["Already at risk"]


def test_possible_duplicates_follow_their_flags(departments, desk_agent):
    older = open_ticket(subject="Original")
    newer = open_ticket(subject="Copy")
    flag = DuplicateFlag.objects.create(ticket=newer, candidate=older, score=0.9)
    # Saved one at a time: the row follows on commit.
    assert _subjects("duplicates", desk_agent, timezone.now()) == ["Copy"]
    flag_dismiss(flag=flag, actor=desk_agent)
    assert _subjects("duplicates", desk_agent, timezone.now()) == []
    # Filed or closed in bulk (no save signal): the minute beat catches up.
    DuplicateFlag.objects.filter(pk=flag.pk).update(status=FlagStatus.SUGGESTED)
    assert rows_tick()["flagged"] == 1
    assert _subjects("duplicates", desk_agent, timezone.now()) == ["Copy"]
    DuplicateFlag.objects.filter(pk=flag.pk).update(status=FlagStatus.DISMISSED)
    assert rows_tick()["unflagged"] == 1
    assert _subjects("duplicates", desk_agent, timezone.now()) == []


def test_a_solved_ticket_leaves_the_duplicates_view_with_its_flag_open(departments, desk_agent):
    from tickets import services

    older = open_ticket(subject="Original")
    newer = open_ticket(subject="Copy")
    DuplicateFlag.objects.create(ticket=newer, candidate=older, score=0.9)
    services.ticket_status_set(ticket=newer, status="solved", actor=desk_agent)
    assert _subjects("duplicates", desk_agent, timezone.now()) == []
    assert rows_tick()["flagged"] == 0  # the beat flags unsolved rows only


@pytest.mark.postgres
def test_the_rows_are_vacuumed_after_a_few_thousand_changes_whatever_the_desk_size():
    """The unsolved rows change all day and the lists read them by index-only scans:
    autovacuum keeps their pages all-visible after 2,000 changed rows, not 20 % of the
    table (migration 0009)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'workspace_ticketrow'")
        options = dict(o.split("=", 1) for o in cursor.fetchone()[0] or [])
    assert options["autovacuum_vacuum_scale_factor"] == "0"
    assert int(options["autovacuum_vacuum_threshold"]) <= 5000
