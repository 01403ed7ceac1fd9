"""The leads' dashboards and reports: who may see them, what they show, the CSV, the
knowledge-base counters and the figures' arithmetic."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kb.models import Article
from reports.facts import backlog_snapshot, facts_refresh
from reports.figures import Scope, backlog_now, percentile_minutes
from reports.models import DailyFigure
from tests.factories import AgentFactory, open_ticket
from tests.workspace.conftest import grant_ticket_permissions
from tickets import services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def _refresh_all() -> None:
    facts_refresh(list(Ticket.objects.values_list("pk", flat=True)))


@pytest.fixture
def seeded(departments, anna):
    """Tickets of two departments: one solved, one merged as a customer's clone."""
    agent = AgentFactory(username="sam", first_name="Sam")
    tech = departments["technical-support"]
    solved = open_ticket(subject="Solved", body="a", contact=anna, channel="portal")
    services.ticket_assign(ticket=solved, assignee=agent)
    services.ticket_status_set(ticket=solved, status=Status.SOLVED, actor=agent)
    open_ticket(subject="Open", body="b", contact=anna, channel="email", department=tech)
    clone = open_ticket(subject="Again", body="a", contact=anna, channel="portal")
    services.ticket_merge(source=clone, target=solved, cloned_by_customer=True)
    _refresh_all()
    return {"solved": solved, "tech": tech, "agent": agent}


def _figures(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="figures" type="application/json">') + len(
        '<script id="figures" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_only_leads_see_dashboards(client, lead, seeded):
    url = reverse("reports:dashboard")
    assert client.get(url).status_code == 302  # not signed in: the admin's login
    agent = AgentFactory(username="plain")
    grant_ticket_permissions(agent)
    client.force_login(agent)
    assert client.get(url).status_code == 403
    client.force_login(lead)
    assert client.get(url).status_code == 200
    assert client.get(reverse("reports:report")).status_code == 200


def test_the_dashboard_reads_the_rollups_once(client, lead, seeded):
    """The daily charts, the weekly figures and the agents' totals are summed from one
    read of the days' rollup rows (it was three reads of the same rows: half of the
    dashboard's database time at 1,000,000 tickets), and still add up per agent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(lead)
    with CaptureQueriesContext(connection) as queries:
        data = _figures(client.get(reverse("reports:dashboard")))
    reads = [q["sql"] for q in queries if DailyFigure._meta.db_table in q["sql"]]
    assert len(reads) == 1
    assert data["agents"]["solved"] == [1] and data["totals"]["solved"] == 1


def test_the_dashboard_shows_the_seeded_figures_per_scope(client, lead, seeded):
    client.force_login(lead)
    everything = _figures(client.get(reverse("reports:dashboard")))
    assert sum(everything["created"]["portal"]) == 1  # the clone is left out
    assert sum(everything["created"]["email"]) == 1
    assert sum(everything["solved"]["portal"]) == 1
    assert everything["duplicates"]["merged"][-1] == 1  # duplicates count their merges
    assert everything["agents"]["names"] == ["Sam"]
    assert everything["agents"]["solved"] == [1]
    assert everything["backlog"]["counts"]["new"]["lt1d"] == 1
    tech = seeded["tech"]
    scoped = _figures(client.get(reverse("reports:dashboard"), {"scope": f"department:{tech.pk}"}))
    assert sum(scoped["created"]["email"]) == 1
    assert sum(scoped["created"]["portal"]) == 0
    page = client.get(reverse("reports:dashboard")).content.decode()
    assert "chart.umd.min.js" in page and 'data-chart="csat"' in page


def test_the_report_over_any_dates_and_its_csv(client, lead, seeded):
    client.force_login(lead)
    today = timezone.now().date()
    params = {"scope": "all", "first": str(today - timedelta(days=3)), "last": str(today)}
    page = client.get(reverse("reports:report"), params).content.decode()
    assert 'id="report-totals"' in page and "Download CSV" in page
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("reports:report"), {**params, "format": "csv"}).content.decode()
            )
        )
    )
    header = next(r for r in rows if r and r[0] == "day")
    last_day = next(r for r in rows if r and r[0] == str(today))
    assert int(last_day[header.index("in_portal")]) == 1
    included = {**params, "include_excluded": "on", "format": "csv"}
    rows = list(
        csv.reader(io.StringIO(client.get(reverse("reports:report"), included).content.decode()))
    )
    last_day = next(r for r in rows if r and r[0] == str(today))
    assert int(last_day[header.index("in_portal")]) == 2  # the clone counted when asked
    bad = client.get(
        reverse("reports:report"),
        {**params, "first": str(today), "last": str(today - timedelta(days=1))},
    )
    assert "The end date comes before the start date." in bad.content.decode()


def test_percentiles_from_the_histogram():
    # Buckets 0 = under 5 min, 1 = 5–10 min, 2 = 10–15 min.
    assert percentile_minutes({0: 10}, 0.5) == 2.5
    assert percentile_minutes({0: 5, 2: 5}, 0.9) == pytest.approx(10 + 5 * 0.8)
    assert percentile_minutes({}, 0.5) is None


def test_backlog_now_and_its_daily_snapshot(departments, anna):
    young = open_ticket(subject="Young", body="x", contact=anna)
    old = open_ticket(subject="Old", body="x", contact=anna)
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    services.ticket_status_set(ticket=young, status=Status.PENDING_CUSTOMER)
    _refresh_all()
    counts = backlog_now(Scope())["counts"]
    assert counts["pending_customer"]["lt1d"] == 1
    assert counts["new"]["7to30d"] == 1
    assert sum(sum(v.values()) for v in counts.values()) == 2
    backlog_snapshot()
    snapshot = {
        f.metric: f.value for f in DailyFigure.objects.filter(metric__startswith="backlog_")
    }
    assert snapshot == {"backlog_pending_customer_lt1d": 1, "backlog_new_7to30d": 1}


def test_knowledge_base_suggestions_and_votes_are_counted(client, departments):
    Article.objects.create(
        title="Renew a domain", slug="renew", body="How to renew", published=True
    )
    client.get(reverse("kb:suggest"), {"q": "renew domain"})
    client.get(reverse("kb:suggest"), {"q": "renew"})  # the same session, the same day
    client.get(reverse("kb:suggest"), {"q": "nothing matches this"})
    client.post(reverse("kb:vote", args=["renew"]), {"helpful": "yes"})
    client.post(reverse("kb:vote", args=["renew"]), {"helpful": "no"})  # one vote a session
    figures = {f.metric: f.value for f in DailyFigure.objects.filter(metric__startswith="kb_")}
    assert figures == {"kb_shown": 1, "kb_helpful_yes": 1}
