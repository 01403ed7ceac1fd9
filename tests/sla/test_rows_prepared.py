"""The SLA rows' values go to PostgreSQL as they are where Django would hand them over
unchanged (issue 16: ~20 fields a row, every ingest batch), else the field's own way."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from sla import services, writes
from sla.models import TargetState, TicketSla
from tests.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_a_value_passed_as_it_is_is_what_the_field_would_have_prepared(departments):
    tickets = [open_ticket(subject=f"Prepared {i}") for i in range(3)]
    rows = services.tickets_sla_recompute([t.pk for t in tickets], announce=False)
    fields = list(TicketSla._meta.concrete_fields)
    prepare = writes._preparers(fields, connection)
    passed = 0
    for row in rows.values():
        assert row is not None
        for field, plain in prepare:
            value = getattr(row, field.attname)
            if plain(value):
                assert field.get_db_prep_save(value, connection) is value
                passed += 1
    if connection.vendor == "postgresql":
        assert passed > 10 * len(rows)  # most of a row: its datetimes, states and flags


def test_values_the_field_would_change_are_prepared_by_the_field():
    fields = {f.name: f for f in TicketSla._meta.concrete_fields}
    prepare = dict(writes._preparers(list(fields.values()), connection))
    naive = datetime(2026, 12, 7, 9, 0, tzinfo=UTC).replace(tzinfo=None)  # made aware (warned)
    assert not prepare[fields["first_response_due"]](naive)
    assert not prepare[fields["first_response_state"]](TargetState.RUNNING)  # an enum member
    assert not prepare[fields["paused"]](1)
    assert not prepare[fields["explanation"]](None)  # a JSON null, not SQL NULL
    assert not prepare[fields["policy"]](None)
    if connection.vendor == "postgresql":
        assert prepare[fields["first_response_due"]](datetime(2026, 12, 7, tzinfo=UTC))
        assert prepare[fields["first_response_state"]]("running")


@pytest.mark.postgres
@given(
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.datetimes(
            min_value=datetime(1900, 1, 1),  # noqa: DTZ001 - naive bounds, zones given
            max_value=datetime(2200, 1, 1),  # noqa: DTZ001
            timezones=st.sampled_from([UTC, ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Kolkata")]),
        ),
    )
)
def test_a_value_written_in_is_the_text_psycopg2_would_send(value):
    with connection.cursor() as cursor:
        sent = cursor.cursor.mogrify("%s", [value]).decode()
    assert writes._literal(value) == sent


def test_text_is_never_written_in():
    assert writes._literal("running") is None
    assert writes._literal("it's 100%") is None
