"""The stored explanations are read only for the rows nothing else moved: a row whose
explanation alone is stale (or blank) is still rewritten, an unchanged one is not."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla.models import TicketSla
from sla.services import tickets_sla_recompute
from tickets.models import Department
from tickets.services import MessageIn, ticket_open

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("Europe/Moscow"))
WRITES = re.compile(r'((INSERT (OR IGNORE )?INTO|UPDATE) "sla_ticketsla")')


def _tickets(count: int) -> list[int]:
    department = Department.objects.get(slug="customer-support")
    return [
        ticket_open(
            subject=f"t{n}",
            department=department,
            message=MessageIn(channel="email", body_text="help", occurred_at=NOW),
        ).ticket.pk
        for n in range(count)
    ]


def test_a_stale_or_blank_explanation_alone_is_rewritten(presets):
    ids = _tickets(3)
    tickets_sla_recompute(ids, now=NOW)
    good = {s.pk: s.explanation for s in TicketSla.objects.all()}
    assert all(e.get("targets") for e in good.values())
    TicketSla.objects.filter(pk=ids[0]).update(explanation={"stale": True})
    TicketSla.objects.filter(pk=ids[1]).update(explanation={})
    out = tickets_sla_recompute(ids, now=NOW)
    assert {s.pk: s.explanation for s in TicketSla.objects.all()} == good
    assert {pk: row.explanation for pk, row in out.items() if row is not None} == good


def test_an_unchanged_row_is_not_written_and_keeps_its_explanation(presets):
    ids = _tickets(2)
    tickets_sla_recompute(ids, now=NOW)
    with CaptureQueriesContext(connection) as queries:
        out = tickets_sla_recompute(ids, now=NOW)
    assert not [q for q in queries if WRITES.search(q["sql"])]
    stored = {s.pk: s.explanation for s in TicketSla.objects.all()}
    with CaptureQueriesContext(connection) as reads:  # already loaded: no lazy read
        returned = {pk: row.explanation for pk, row in out.items() if row is not None}
    assert returned == stored and not reads.captured_queries
