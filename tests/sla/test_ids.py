"""Filtering by a batch's ids written into the statement returns what ``__in`` returns."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.ids import IntsIn, ids_in
from tests.factories import open_ticket
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(departments) -> list[int]:
    return [open_ticket(subject=f"ids {n}").pk for n in range(4)]


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(min_value=-2, max_value=6), max_size=12))
def test_the_same_rows_as_in(opened, picks):
    """Existing and missing ids, repeated, negative, none at all."""
    ids = [opened[p] if 0 <= p < len(opened) else p * 1000 for p in picks]
    written = TicketEvent.objects.filter(ids_in("ticket_id", ids)).values_list("pk", flat=True)
    passed = TicketEvent.objects.filter(ticket_id__in=ids).values_list("pk", flat=True)
    assert sorted(written) == sorted(passed)


def test_the_ids_are_written_in_and_anything_else_goes_the_orm_way(opened):
    query = TicketEvent.objects.filter(ids_in("ticket_id", [opened[1], opened[0]])).query
    sql, params = query.sql_with_params()
    assert f"IN ({opened[0]}, {opened[1]})" in sql and params == ()
    assert not isinstance(ids_in("ticket_id", [1, "2"]), IntsIn)
    assert not isinstance(ids_in("ticket_id", [True]), IntsIn)  # a bool is no id
    with pytest.raises(TypeError):
        IntsIn(TicketEvent._meta.get_field("ticket").get_col("t"), [1.5])
