"""A batch builds the parts of explanations its tickets share once (``ExplainMemo``); each
ticket's explanation is the one it gets computed alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.services import HistoryRows, SlaLookups, ticket_sla_fields, with_related
from tickets.models import Department, Status, Ticket
from tickets.services import MessageIn, message_add, ticket_open, ticket_status_set

pytestmark = pytest.mark.django_db
DEPARTMENTS = ["customer-support", "technical-support", "reseller-support", "legal-abuse"]


def _open(at: datetime, slug: str, severity: int, agent, answered: bool, paused: bool) -> int:
    with time_machine.travel(at, tick=False):
        ticket = ticket_open(
            subject="memo",
            department=Department.objects.get(slug=slug),
            severity=severity if slug == "technical-support" else max(severity, 2),
            message=MessageIn(channel="email", body_text="help"),
        ).ticket
    if answered:
        with time_machine.travel(at + timedelta(hours=2), tick=False):
            message_add(
                ticket=ticket,
                message=MessageIn(
                    channel="email", direction="outbound", body_text="on it", author_user=agent
                ),
            )
    if paused:
        with time_machine.travel(at + timedelta(hours=3), tick=False):
            ticket_status_set(ticket=ticket, status=Status.ON_HOLD, actor=agent)
    return ticket.pk


def _explanations(ids: list[int], now: datetime, lookups: SlaLookups | None) -> dict[int, dict]:
    tickets = with_related(Ticket.objects.in_bulk(ids))
    rows = HistoryRows.load(ids)
    return {
        pk: ticket_sla_fields(tickets[pk], now, lookups or SlaLookups.load(), rows)["explanation"]
        for pk in ids
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(
        st.tuples(
            st.datetimes(
                min_value=datetime(2026, 12, 28),  # noqa: DTZ001 - naive bounds, zone given
                max_value=datetime(2027, 1, 6),  # noqa: DTZ001
                timezones=st.just(UTC),
            ),
            st.sampled_from(DEPARTMENTS),
            st.sampled_from([1, 2, 3, 4]),
            st.booleans(),
            st.booleans(),
        ),
        min_size=2,
        max_size=6,
    ),
    later=st.integers(min_value=0, max_value=72),
)
def test_a_batch_explains_each_ticket_as_it_is_explained_alone(presets, agent, specs, later):
    """Days around the New Year holidays, every department and severity, answered or not,
    on hold or not; the batch's tickets share one memo."""
    ids = [_open(*spec[:3], agent, *spec[3:]) for spec in specs]
    now = max(spec[0] for spec in specs) + timedelta(hours=4 + later)
    assert _explanations(ids, now, SlaLookups.load()) == _explanations(ids, now, None)


def test_tickets_of_the_same_day_share_their_days(presets, agent):
    at = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    ids = [
        _open(at + timedelta(minutes=n), "technical-support", 3, agent, False, False)
        for n in (0, 5)
    ]
    one, two = _explanations(ids, at + timedelta(hours=1), SlaLookups.load()).values()
    first, second = one["targets"]["resolution"], two["targets"]["resolution"]
    assert first["days"] is second["days"]  # built once, shared
    assert first["summary"].rsplit("; due", 1)[0] == second["summary"].rsplit("; due", 1)[0]
    assert first["summary"] != second["summary"]  # five minutes apart: their own deadlines
    assert first["days"][0]["date"] == "2026-11-23"


def test_a_full_memo_starts_again_and_explains_the_same(presets, agent, monkeypatch):
    monkeypatch.setattr("sla.explain.MEMO_LIMIT", 2)
    at = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    ids = [
        _open(at + timedelta(hours=n), "customer-support", 3, agent, False, False) for n in range(5)
    ]
    lookups = SlaLookups.load()
    now = at + timedelta(hours=6)
    assert _explanations(ids, now, lookups) == _explanations(ids, now, None)
    assert len(lookups.explained.dues) <= 2
