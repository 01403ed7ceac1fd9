"""The SLA rows' values go to PostgreSQL as they are where Django would hand them over
unchanged (issue 16: ~20 fields a row, every ingest batch), else the field's own way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from sla import services
from sla.models import TargetState, TicketSla
from tests.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_a_value_passed_as_it_is_is_what_the_field_would_have_prepared(departments):
    tickets = [open_ticket(subject=f"Prepared {i}") for i in range(3)]
    rows = services.tickets_sla_recompute([t.pk for t in tickets], announce=False)
    fields = list(TicketSla._meta.concrete_fields)
    prepare = services._preparers(fields, connection)
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
    prepare = dict(services._preparers(list(fields.values()), connection))
    naive = datetime(2026, 12, 7, 9, 0, tzinfo=UTC).replace(tzinfo=None)  # made aware (warned)
    assert not prepare[fields["first_response_due"]](naive)
    assert not prepare[fields["first_response_state"]](TargetState.RUNNING)  # an enum member
    assert not prepare[fields["paused"]](1)
    assert not prepare[fields["explanation"]](None)  # a JSON null, not SQL NULL
    assert not prepare[fields["policy"]](None)
    if connection.vendor == "postgresql":
        assert prepare[fields["first_response_due"]](datetime(2026, 12, 7, tzinfo=UTC))
        assert prepare[fields["first_response_state"]]("running")
