"""With DATABASE_REPLICA_URL, the search pages and the leads' dashboards and reports read
the replica; writes, and reads inside a write, stay on the primary.

The replica is a second PostgreSQL database cloned from the test database; the primary
then moves on (a ticket opened, one solved), as a lagging replica's primary would. A
separate process with the replica configured serves the pages: what they show, and which
connection ran which query, prove where each read went."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from django.contrib.auth.models import Permission

from reports.facts import facts_refresh
from tests.factories import AgentFactory, open_ticket
from tests.processes import BASE_DIR, service_env
from tests.workspace.conftest import grant_ticket_permissions
from tickets import services
from tickets.models import Status, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PROBE = """
import json, os, re
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.contrib.auth import get_user_model
from django.utils import timezone
from search.selectors import ticket_search
from reports.figures import Scope, figures
from reports.facts import _today
from supportdesk.db_router import replica_reads
from tickets import services
from tickets.models import Ticket

args = json.loads(os.environ["PROBE_ARGS"])
out = {"replica_name": connections["replica"].settings_dict["NAME"]}
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username=args["lead"]))


def page(url):
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(
        connections["replica"]
    ) as replica:
        response = client.get(url)
    return response, [q["sql"] for q in primary], [q["sql"] for q in replica]


response, primary, replica = page("/desk/search/?q=copper+kettle")
html = response.content.decode()
out["search_status"] = response.status_code
# The hits' links (the box's help text shows an example reference too).
out["search_refs"] = sorted(set(re.findall('class="ref">(' + args["prefix"] + r'-\\d+)<', html)))
out["search_primary_entries"] = sum("search_entry" in q for q in primary)
out["search_replica_entries"] = sum("search_entry" in q for q in replica)

response, primary, replica = page("/desk/reports/")
html = response.content.decode()
start = html.index('<script id="figures" type="application/json">')
data = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
out["dashboard_status"] = response.status_code
out["dashboard_created"] = data["totals"]["created"]
out["dashboard_open"] = sum(sum(v.values()) for v in data["backlog"]["counts"].values())
out["dashboard_primary_figures"] = sum(
    "reports_dailyfigure" in q or "reports_ticketfact" in q for q in primary
)
out["dashboard_replica_figures"] = sum("reports_dailyfigure" in q for q in replica)

today = _today().isoformat()
response, primary, replica = page(
    f"/desk/reports/report/?scope=all&first={today}&last={today}&format=csv"
)
out["csv_status"] = response.status_code
out["csv"] = response.content.decode()
out["today"] = today

# Inside a write, a lag-tolerant read is the primary's own view.
with transaction.atomic():
    out["search_in_write"] = [h.ticket.pk for h in ticket_search("copper kettle").hits]
    out["created_in_write"] = figures(Scope(), _today(), _today())["totals"]["created"]

# A write path run inside replica_reads() still reads (and writes) the primary only: the
# fresh ticket exists only there.
with CaptureQueriesContext(connections["replica"]) as replica, replica_reads():
    fresh = Ticket.objects.using("default").get(pk=args["fresh"])
    services.ticket_status_set(ticket=fresh, status="solved")
out["write_replica_queries"] = [q["sql"][:200] for q in replica]
print("PROBE" + json.dumps(out))
"""


def _lead():
    user = AgentFactory(username="lena", first_name="Lena", last_name="Lead")
    grant_ticket_permissions(user)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="reports", codename="view_dashboard")
    )
    return user


def _refresh() -> None:
    facts_refresh(list(Ticket.objects.values_list("pk", flat=True)))


@pytest.fixture
def before_copy(departments):
    """What the replica holds: one open ticket about a copper kettle, in the figures."""
    lead = _lead()
    old = open_ticket(subject="Copper kettle leaks", body="The copper kettle leaks at the spout.")
    _refresh()
    return {"lead": lead, "old": old}


def _probe(replica_url: str, **args) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=BASE_DIR,
        env=service_env(DATABASE_REPLICA_URL=replica_url, PROBE_ARGS=json.dumps(args)),
        capture_output=True,
        text=True,
        timeout=180,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("PROBE")), None)
    assert line, result.stdout + result.stderr
    return json.loads(line[len("PROBE") :])


def _csv_day(text: str, day: str) -> dict[str, int]:
    """Return the tickets in and solved on ``day`` by the report's CSV."""
    rows = list(csv.reader(io.StringIO(text)))
    header = next(r for r in rows if r and r[0] == "day")
    row = dict(zip(header, next(r for r in rows if r and r[0] == day), strict=False))
    return {
        "in": sum(int(v) for k, v in row.items() if k.startswith("in_")),
        "solved": sum(int(v) for k, v in row.items() if k.startswith("solved_")),
    }


def test_search_and_reports_read_the_replica_and_a_write_reads_the_primary(
    before_copy, replica_url, settings
):
    old = before_copy["old"]
    # After the copy the primary moves on; the replica does not.
    fresh = open_ticket(subject="Copper kettle again", body="Another copper kettle leaks.")
    services.ticket_status_set(ticket=old, status=Status.SOLVED)
    _refresh()

    probe = _probe(
        replica_url,
        lead=before_copy["lead"].username,
        prefix=settings.SUPPORTDESK_TICKET_PREFIX,
        fresh=fresh.pk,
    )

    assert probe["replica_name"] in replica_url
    # The search page shows what the replica holds: the old ticket, not the fresh one.
    assert probe["search_status"] == 200
    assert probe["search_refs"] == [old.reference]
    assert probe["search_replica_entries"] > 0
    assert probe["search_primary_entries"] == 0
    # The dashboard: one ticket created and still open on the replica (the primary has two
    # created, one open: the fresh one).
    assert probe["dashboard_status"] == 200
    assert probe["dashboard_created"] == 1
    assert probe["dashboard_open"] == 1
    assert probe["dashboard_replica_figures"] > 0
    assert probe["dashboard_primary_figures"] == 0
    assert probe["csv_status"] == 200
    assert _csv_day(probe["csv"], probe["today"]) == {"in": 1, "solved": 0}
    # Inside a write: the primary's view (both tickets; two created today).
    assert sorted(probe["search_in_write"]) == sorted([old.pk, fresh.pk])
    assert probe["created_in_write"] == 2
    # The write path read nothing from the replica, and its write reached the primary.
    assert probe["write_replica_queries"] == []
    fresh.refresh_from_db()
    assert fresh.status == Status.SOLVED


def test_without_a_replica_search_and_reports_read_the_one_database(before_copy):
    from reports.facts import _today
    from reports.figures import Scope, figures
    from search.selectors import ticket_search
    from supportdesk.db_router import read_alias, replica_reads

    with replica_reads():
        assert read_alias() == "default"
    assert [h.ticket.pk for h in ticket_search("copper kettle").hits] == [before_copy["old"].pk]
    assert figures(Scope(), _today(), _today())["totals"]["created"] == 1
