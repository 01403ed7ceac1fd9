"""The SLA lookups a process keeps between batches are exactly what reading them again
gives, whatever was written to policies, calendars, departments and lines in between (by
the ORM, by a queryset update, rolled back or not)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.calendar_store import calendar_bump
from sla.models import BusinessCalendar, DepartmentCalendar, LineCalendar, SlaPolicy
from sla.services import SlaLookups, _lookups_rows, policy_targets
from tickets.models import Department, SupportLine

pytestmark = pytest.mark.django_db


def contents(lookups: SlaLookups) -> dict[str, Any]:
    """What the lookups hold, as comparable values (every field of every row)."""

    def row(obj: Any) -> Any:
        if obj is None:
            return None
        return tuple(getattr(obj, f.attname) for f in obj._meta.concrete_fields)

    return {
        "policies": [
            (row(p), row(p.calendar), row(p.line), row(p.department)) for p in lookups.policies
        ],
        "department_calendars": {k: row(v) for k, v in lookups.department_calendars.items()},
        "default_calendar": row(lookups.default_calendar),
        "line_calendars": {k: row(v) for k, v in lookups.line_calendars.items()},
        "department_names": lookups.department_names,
    }


def fresh() -> dict[str, Any]:
    return contents(SlaLookups(**_lookups_rows(_default())))


def _default() -> str:
    from django.conf import settings as django_settings

    return getattr(django_settings, "SLA_DEFAULT_CALENDAR", "")


def test_a_second_load_reads_the_stamp_only(presets):
    first = SlaLookups.load()
    with CaptureQueriesContext(connection) as queries:
        second = SlaLookups.load()
    assert len(queries.captured_queries) == 1
    assert "sla_lookupsstamp" in queries.captured_queries[0]["sql"]
    assert contents(second) == contents(first) == fresh()
    assert second.resolved is not first.resolved  # each load has its own memos


def test_a_queryset_update_is_seen(presets):
    SlaLookups.load()
    policy = SlaPolicy.objects.filter(is_active=True).first()
    SlaPolicy.objects.filter(pk=policy.pk).update(first_response_amount=Decimal("7"))
    department = Department.objects.order_by("pk").first()
    Department.objects.filter(pk=department.pk).update(name="Renamed")
    loaded = SlaLookups.load()
    assert {p.pk: p.first_response_amount for p in loaded.policies}[policy.pk] == Decimal("7")
    assert loaded.department_names[department.pk] == "Renamed"
    assert contents(loaded) == fresh()


def test_a_rolled_back_change_is_not_kept(presets):
    policy = SlaPolicy.objects.filter(is_active=True).first()
    with pytest.raises(RuntimeError), transaction.atomic():
        SlaPolicy.objects.filter(pk=policy.pk).update(name="Never committed")
        assert "Never committed" in {p.name for p in SlaLookups.load().policies}
        raise RuntimeError
    assert "Never committed" not in {p.name for p in SlaLookups.load().policies}
    assert contents(SlaLookups.load()) == fresh()


EDITS = ["rename_department", "toggle_policy", "policy_amount", "bump_calendar", "link", "line"]


def edit(kind: str, n: int) -> None:
    if kind == "rename_department":
        department = Department.objects.order_by("pk")[n % Department.objects.count()]
        department.name = f"Department {n}"
        department.save()
    elif kind == "toggle_policy":
        policy = SlaPolicy.objects.order_by("pk")[n % SlaPolicy.objects.count()]
        SlaPolicy.objects.filter(pk=policy.pk).update(is_active=not policy.is_active)
    elif kind == "policy_amount":
        policy = SlaPolicy.objects.order_by("pk")[n % SlaPolicy.objects.count()]
        policy.resolution_amount = Decimal(n % 40 + 1)
        policy.save()
    elif kind == "bump_calendar":
        calendar_bump(BusinessCalendar.objects.order_by("pk")[n % BusinessCalendar.objects.count()])
    elif kind == "link":
        department = Department.objects.order_by("pk")[n % Department.objects.count()]
        calendar = BusinessCalendar.objects.order_by("pk")[n % BusinessCalendar.objects.count()]
        DepartmentCalendar.objects.update_or_create(
            department=department, defaults={"calendar": calendar}
        )
    elif kind == "line":
        line = SupportLine.objects.order_by("pk")[n % SupportLine.objects.count()]
        SupportLine.objects.filter(pk=line.pk).update(name=f"Line {n}")
        LineCalendar.objects.filter(line=line).delete()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 50)), max_size=6))
def test_kept_lookups_equal_a_fresh_read_after_any_edits(presets, edits):
    SlaLookups.load()
    for kind, n in edits:
        edit(kind, n)
        assert contents(SlaLookups.load()) == fresh(), kind
        assert contents(SlaLookups.load()) == fresh(), f"{kind}, loaded twice"


def test_a_policys_targets_are_built_once_a_load_and_equal_policy_targets(presets):
    lookups = SlaLookups.load()
    for policy in [*lookups.policies, None]:
        assert lookups.targets_of(policy) == policy_targets(policy)
        assert lookups.targets_of(policy) is lookups.targets_of(policy)
    unsaved = SlaPolicy(name="draft", first_response_amount=Decimal("2"))
    unsaved.first_response_unit = "business_hours"
    assert lookups.targets_of(unsaved) == policy_targets(unsaved)
    assert lookups.targets_of(unsaved) != lookups.targets_of(None)
