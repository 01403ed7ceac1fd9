"""A batch's recompute builds each account, line and department once (issue 16: the
recompute runs in every ingest batch), and reads nothing more per ticket."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla import services
from sla.calendar_store import calendar_bump
from sla.models import CalendarException
from tests.factories import open_ticket
from tickets.models import Account, Ticket

pytestmark = pytest.mark.django_db


def test_the_batchs_tickets_share_their_related_rows_and_read_none_of_them_again(departments):
    account = Account.objects.create(name="Acme", tier="premium")
    tickets = [open_ticket(subject=f"Shared {i}") for i in range(3)]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:2]]).update(account=account)
    with CaptureQueriesContext(connection) as queries:
        found = services.with_related(Ticket.objects.in_bulk([t.pk for t in tickets]))
    read = len(queries.captured_queries)
    first, second, third = (found[t.pk] for t in tickets)
    with CaptureQueriesContext(connection) as queries:
        assert first.account is second.account and first.account.tier == "premium"
        assert first.line is second.line is third.line and first.line.pk == tickets[0].line_id
        assert first.department is third.department
        assert third.account is None
    assert queries.captured_queries == []
    assert read <= 4  # the tickets, then each related table once


def test_a_calendars_named_days_are_read_once_a_process_until_the_calendar_changes(presets):
    """Each batch loads its lookups afresh; the holidays' names are read once a process
    (three years of them a calendar) and again only after an edit bumps the calendar."""
    row = presets["cet-office"]
    assert services.SlaLookups.load().names_of(row)  # its public holidays
    with CaptureQueriesContext(connection) as queries:
        again = services.SlaLookups.load().names_of(row)
    table = CalendarException._meta.db_table
    assert not [q for q in queries.captured_queries if table in q["sql"]]
    assert date(2026, 12, 23) not in again
    CalendarException.objects.create(
        calendar=row, date=date(2026, 12, 23), kind="closed", name="Company day off"
    )
    calendar_bump(row)
    assert services.SlaLookups.load().names_of(row)[date(2026, 12, 23)] == "Company day off"
