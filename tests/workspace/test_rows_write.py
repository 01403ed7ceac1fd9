"""A refresh's cost (issue 16: it follows every ingest batch): the SLA explanations are
not read whole, the rows are written in one statement, and what is written is the same."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sla.models import TicketSla
from tests.factories import open_ticket
from workspace.models import TicketRow
from workspace.rows import rows_refresh

pytestmark = pytest.mark.django_db


def test_a_refresh_reads_only_the_at_risk_moments_and_writes_in_one_statement(departments):
    now = timezone.now().replace(microsecond=0)
    tickets = [open_ticket(subject=f"Row {i}") for i in range(3)]
    big = {"steps": ["x" * 200] * 50}  # what the explanation holds besides the moments
    for i, ticket in enumerate(tickets[:2]):
        TicketSla.objects.update_or_create(
            ticket=ticket,
            defaults={
                "first_response_due": now + timedelta(hours=2 + i),
                "first_response_state": "running",
                "resolution_due": now + timedelta(hours=1),
                "resolution_state": "running" if i == 0 else "paused",
                "explanation": {
                    **big,
                    "targets": {
                        "first_response": {"risk_at": (now + timedelta(hours=1)).isoformat()},
                        "resolution": {"risk_at": (now + timedelta(minutes=30)).isoformat()},
                    },
                },
            },
        )
    with CaptureQueriesContext(connection) as queries:
        assert rows_refresh([t.pk for t in tickets]) == 3
    sla_reads = [q["sql"] for q in queries.captured_queries if "sla_ticketsla" in q["sql"]]
    # SQLite picks a moment out with JSON_TYPE / JSON_EXTRACT("…"."explanation", path):
    # not the column itself.
    read = re.sub(r'JSON_\w+\("sla_ticketsla"\."explanation",', "", sla_reads[0].replace(" ", ""))
    assert len(sla_reads) == 1 and '"explanation",' not in read
    writes = [q["sql"] for q in queries.captured_queries if "workspace_ticketrow" in q["sql"]]
    assert writes[0].startswith('INSERT INTO "workspace_ticketrow" (')
    # Then the tag rows: one statement on PostgreSQL, a DELETE and an INSERT on SQLite.
    tag_writes = writes[1:]
    assert all("workspace_ticketrowtag" in sql for sql in tag_writes)
    assert len(tag_writes) == (1 if connection.vendor == "postgresql" else 2)
    rows = {r.ticket_id: r for r in TicketRow.objects.filter(ticket__in=tickets)}
    # The earliest running deadline and its own at-risk moment; none for no clock.
    first, second, third = (rows[t.pk] for t in tickets)
    assert (first.sla_due, first.sla_risk_at) == (
        now + timedelta(hours=1),
        now + timedelta(minutes=30),
    )
    assert (second.sla_due, second.sla_risk_at) == (
        now + timedelta(hours=3),
        now + timedelta(hours=1),
    )
    assert third.sla_due is None and third.sla_risk_at is None and third.subject == "Row 2"
    assert not first.sla_risk_reached and first.unsolved and first.number == tickets[0].number


@pytest.mark.postgres
def test_the_tag_rows_follow_up_is_planned_once_per_connection(departments, settings):
    """The tags' read model follow-up of a refresh is a prepared statement whose generic
    plan PostgreSQL keeps (the tickets' ids hidden from the planner alike in every plan),
    so a refresh of one ticket does not plan it again each time."""
    settings.DB_PREPARED_STATEMENTS = True
    ticket = open_ticket(subject="Tagged")
    for _ in range(8):
        rows_refresh([ticket.pk])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%WITH gone AS (DELETE FROM "workspace_ticketrowtag"%'],
        )
        (generic_plans,) = cursor.fetchone()
    assert generic_plans >= 2


@pytest.mark.postgres
def test_rows_built_in_sql_are_the_rows_built_from_a_read(departments, agent):
    """PostgreSQL builds the rows in the upsert; they equal, column for column, the rows
    the read path builds (used on other databases): open, solved and waiting tickets;
    running, paused and stopped clocks, ties, at-risk moments passed, future, empty and
    absent; suggested and dismissed flags; a ticket with no clock; a deleted ticket."""
    from duplicates.models import DuplicateFlag, FlagStatus
    from tickets.models import Status, Ticket
    from workspace import rows

    now = timezone.now()
    tickets = [open_ticket(subject=f"Same {i}") for i in range(12)]
    statuses = [Status.NEW, Status.OPEN, Status.SOLVED, Status.PENDING_CUSTOMER, Status.CLOSED]
    for i, ticket in enumerate(tickets):
        Ticket.objects.filter(pk=ticket.pk).update(
            status=statuses[i % len(statuses)],
            assignee=agent if i % 3 == 0 else None,
            needs_verification=i % 2 == 0,
        )
        if i == 11:
            continue  # no clock at all
        tie = now + timedelta(hours=1)
        risks = [now - timedelta(minutes=5), now + timedelta(minutes=5), None, ""]
        risk = risks[i % len(risks)]
        TicketSla.objects.update_or_create(
            ticket=ticket,
            defaults={
                "first_response_due": tie if i % 2 else now + timedelta(hours=3),
                "first_response_state": ["running", "paused", "met"][i % 3],
                "next_response_due": tie if i % 4 != 1 else None,
                "next_response_state": "running",
                "resolution_due": tie - timedelta(minutes=i),
                "resolution_state": "running" if i % 5 else "stopped",
                "explanation": {
                    "targets": {
                        name: {"risk_at": risk.isoformat() if risk else risk}
                        for name in ("first_response", "next_response")
                    }
                    | {"resolution": {"risk_at": (now + timedelta(minutes=i)).isoformat()}}
                },
            },
        )
    for i, ticket in enumerate(tickets[:6]):
        DuplicateFlag.objects.create(
            ticket=ticket,
            candidate=tickets[-1],
            score=0.9,
            status=FlagStatus.SUGGESTED if i % 2 == 0 else FlagStatus.DISMISSED,
        )
    ids = [t.pk for t in tickets]
    gone = tickets[5]
    rows.rows_refresh(ids)
    Ticket.objects.filter(pk=gone.pk).delete()

    def stored() -> dict:
        return {r["ticket_id"]: r for r in TicketRow.objects.filter(ticket_id__in=ids).values()}

    assert rows._refresh_chunk_read(ids) == 11
    read = stored()
    TicketRow.objects.filter(ticket_id__in=ids).update(subject="stale", sla_due=None)
    assert rows._refresh_chunk_in_sql(ids) == 11
    built = stored()
    assert gone.pk not in built and len(built) == 11
    for pk in built:
        assert built[pk] == read[pk], pk
    assert any(r["sla_risk_reached"] for r in built.values())
    assert any(r["possible_duplicate"] for r in built.values())
    assert any(r["sla_due"] is not None for r in built.values())
