"""Support lines in the workspace: one view per line, saved views filtered by line, the
line and the SLA policy that applies (and why) on the ticket page, agent-created tickets
on a chosen line, and rows built before lines catching up."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import timezone
from django.utils.html import escape

from sla.models import SlaPolicy
from sla.services import ticket_sla_recompute
from tests.factories import open_ticket
from tickets.models import SupportLine, Ticket
from workspace import queues
from workspace.models import SavedView, TicketRow

# Real commits: the list rows are refreshed when a change commits (as in production).
pytestmark = pytest.mark.django_db(transaction=True)


def _subjects(user, key: str) -> list[str]:
    view = next(v for v in queues.agent_views(user) if v.key == key)
    rows, _ = queues.page(view.filters, user, timezone.now())
    return sorted(r.subject for r in rows)


def test_one_view_per_line_with_its_tickets_and_counts(desk, departments, desk_agent):
    open_ticket(subject="Shop checkout broken", department=departments["customer-support"])
    open_ticket(subject="Transfer stuck", department=departments["reseller-support"])
    open_ticket(subject="Phishing site", department=departments["legal-abuse"])
    lines = {line.slug: line for line in SupportLine.objects.all()}
    views = {v.key: v for v in queues.agent_views(desk_agent)}
    assert {"line-ecommerce", "line-reseller"} <= set(views)
    assert views["line-reseller"].filters.lines == (lines["reseller"].pk,)
    assert _subjects(desk_agent, "line-ecommerce") == ["Shop checkout broken"]
    assert _subjects(desk_agent, "line-reseller") == ["Phishing site", "Transfer stuck"]
    counts = queues.bounded_counts(list(views.values()), desk_agent, timezone.now())
    assert (counts["line-ecommerce"], counts["line-reseller"]) == (1, 2)
    page = desk.get("/desk/views/line-reseller/").content.decode()
    assert "Transfer stuck" in page and "Shop checkout broken" not in page
    assert 'data-view="line-ecommerce"' in page  # in the sidebar of every list


def test_saved_view_filters_by_line(desk, departments, desk_agent):
    open_ticket(subject="Shop question", department=departments["customer-support"])
    open_ticket(subject="Reseller question", department=departments["reseller-support"])
    reseller = SupportLine.objects.get(slug="reseller")
    response = desk.post(
        "/desk/saved/",
        {"name": "Reseller queue", "lines": [reseller.pk], "columns": ["due", "customer"]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = SavedView.objects.get(name="Reseller queue")
    assert saved.filters["lines"] == [reseller.pk]
    assert _subjects(desk_agent, f"saved-{saved.pk}") == ["Reseller question"]
    form = desk.get(f"/desk/saved/?from=saved-{saved.pk}").content.decode()
    assert f'value="{reseller.pk}" selected' in form  # the line comes back to edit


def test_ticket_page_shows_the_line_and_which_policy_applies_and_why(
    desk, departments, presets, desk_agent
):
    ticket = open_ticket(subject="Transfer stuck", department=departments["reseller-support"])
    sla = ticket_sla_recompute(ticket.pk)
    explanation = sla.explanation
    assert explanation["policy"] and explanation["match"]["why"]  # what the page must show
    page = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    line = page.split('id="ticket-line"')[1].split("</p>")[0]
    assert escape(str(ticket.line)) in line
    policy = page.split('id="sla-policy"')[1].split("</p>")[0]
    assert escape(explanation["policy"]) in policy and escape(explanation["line"]) in policy
    assert escape(explanation["match"]["why"]) in page.split('id="sla-policy-why"')[1]
    for target in explanation["targets"].values():
        if target.get("summary"):
            assert escape(target["summary"]) in page  # the counted days, per target
    assert 'id="sla-warning"' not in page


def test_ticket_no_policy_matches_shows_the_warning(desk, departments, presets, desk_agent):
    SlaPolicy.objects.update(is_active=False)
    ticket = open_ticket(subject="Nobody's ticket", department=departments["customer-support"])
    sla = ticket_sla_recompute(ticket.pk)
    assert sla.explanation["warning"]
    page = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    warning = page.split('id="sla-warning"')[1].split("</p>")[0]
    assert escape(sla.explanation["warning"]) in warning
    assert "none matches" in page.split('id="sla-policy"')[1].split("</p>")[0]


def test_agent_opens_a_ticket_on_a_chosen_line(desk, departments, desk_agent):
    reseller = SupportLine.objects.get(slug="reseller")
    form = {
        "subject": "Called about a transfer",
        "channel": "phone",
        "body": "Wants the transfer sped up.",
        "department": departments["reseller-support"].pk,
        "line": reseller.pk,
        "severity": 3,
    }
    assert desk.post("/desk/new/", form).status_code == 302
    ticket = Ticket.objects.get(subject="Called about a transfer")
    assert ticket.line_id == reseller.pk
    assert TicketRow.objects.get(ticket=ticket).line_id == reseller.pk
    # No line chosen: the department's own line (the shop's desks take no calls).
    form.update(subject="Shop owner wrote", department=departments["customer-support"].pk)
    form.update(channel="portal", line="")
    response = desk.post("/desk/new/", form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Ticket.objects.get(subject="Shop owner wrote").line.slug == "ecommerce"


def test_rows_from_before_lines_get_their_tickets_line(departments):
    ticket = open_ticket(subject="Old row", department=departments["reseller-support"])
    TicketRow.objects.filter(ticket=ticket).update(line_id=None)
    migration = importlib.import_module("workspace.migrations.0005_rows_follow_lines")
    migration.rows_lines(apps, None)
    assert TicketRow.objects.get(ticket=ticket).line_id == ticket.line_id is not None
