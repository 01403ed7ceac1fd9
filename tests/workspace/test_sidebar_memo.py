"""What the sidebar and the counts build from their rows is kept per process
(workspace/queues.py ``_sidebar_of``, workspace/view_sql.py ``cached_where``): per
language, and always from the rows and the moment of the request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from tickets.models import Department, Status
from workspace import queues, view_sql
from workspace.queues import ViewFilters

pytestmark = pytest.mark.django_db


def _labels(user) -> dict[str, str]:
    return {v.key: str(v.label) for v in queues.sidebar(user).views}


def test_line_labels_follow_each_agents_language(departments, desk_agent, other_agent):
    with translation.override("ru"):
        russian = _labels(desk_agent)
    with translation.override("en"):
        english = _labels(other_agent)
        again = _labels(desk_agent)
    lines = [k for k in english if k.startswith("line-")]
    assert lines
    for key in lines:
        assert english[key].startswith("Line: ") and again[key] == english[key]
        assert russian[key] != english[key]


def test_a_renamed_department_shows_at_once(departments, desk_agent):
    queues.sidebar(desk_agent)
    Department.objects.filter(slug="legal-abuse").update(name="Abuse desk")
    assert _labels(desk_agent)["dept-legal-abuse"] == "Abuse desk"


def test_callers_cannot_change_what_is_kept(departments, desk_agent):
    bar = queues.sidebar(desk_agent)
    bar.views.clear()
    bar.groups.departments.clear()
    again = queues.sidebar(desk_agent)
    assert again.views and again.groups.departments


@pytest.mark.parametrize(
    "filters",
    [
        ViewFilters(assignee="me"),
        ViewFilters(sla="breached"),
        ViewFilters(sla="at_risk", departments=(1, 3), severities=(2,)),
        ViewFilters(statuses=(Status.PENDING_CUSTOMER,), tags=("vip",), channels=("email",)),
    ],
)
def test_cached_where_is_view_where_at_every_moment(filters, desk_agent):
    now = timezone.now()
    for moment in (now, now + timedelta(minutes=7), now - timedelta(days=2)):
        assert view_sql.cached_where(filters, desk_agent.pk, moment) == view_sql.view_where(
            filters, desk_agent.pk, moment
        )
    other = view_sql.cached_where(filters, desk_agent.pk + 1000, now)
    assert other == view_sql.view_where(filters, desk_agent.pk + 1000, now)


def test_the_counts_poll_shows_each_agents_language_and_current_view(desk, departments):
    # Labels are text per language, and each view's <li> is kept per label and "current".
    from workspace.models import AgentProfile

    english = desk.get("/desk/counts/?current=mine").content.decode()
    AgentProfile.objects.filter(user__username="alice").update(language="ru")
    russian = desk.get("/desk/counts/?current=at-risk").content.decode()
    assert '<span class="label">Mine</span>' in english
    assert '<span class="label">Mine</span>' not in russian
    assert '<span class="label">Line: ' in english and '<span class="label">Line: ' not in russian
    assert english.count('aria-current="page"') == russian.count('aria-current="page"') == 1
    assert 'aria-current="page" data-view="mine"' in english
    assert 'aria-current="page" data-view="at-risk"' in russian
