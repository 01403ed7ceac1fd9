"""Explicit SLA policy resolution: line, then department, then channel, then severity;
no policy hides another unannounced; every ticket says which policy matched and why; a
ticket no policy matches is warned about, never silently without deadlines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sla.models import SlaPolicy
from sla.policies import all_conflicts, coverage_gaps, policy_conflicts
from sla.services import ticket_sla_recompute
from tickets.models import Department, SupportLine
from tickets.services import MessageIn, ticket_open

from .conftest import ams

pytestmark = pytest.mark.django_db


def policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.select_related("line", "department"))


def test_the_presets_hide_nothing_and_cover_every_channel_of_every_line(presets):
    """Rule 3: phone and chat tickets of each line get their line's targets."""
    assert all_conflicts(policies()) == []
    gaps = coverage_gaps(
        policies(), list(SupportLine.objects.all()), list(Department.objects.all())
    )
    assert [str(g) for g in gaps] == []


def test_a_line_channel_policy_crossing_a_department_policy_must_be_announced(presets):
    """The old shadowing: an email policy and a department policy of the same line both
    match that department's mail; the department policy wins there, so it must say so."""
    line = SupportLine.objects.get(slug="ecommerce")
    email = SlaPolicy.objects.create(
        name="Vendor email", slug="vendor-email", line=line, channel="email",
        first_response_amount=Decimal(8),
    )  # fmt: skip
    conflicts = policy_conflicts(email, policies())
    winners = {c.winner.slug for c in conflicts}
    assert winners == {"customer-support", "technical-support", "technical-support-s1"}
    assert all(c.loser == email and not c.same for c in conflicts)
    assert "Takes precedence over" in str(conflicts[0])
    for winner in SlaPolicy.objects.filter(slug__in=winners):
        winner.takes_precedence_over.add(email)
    assert policy_conflicts(email, policies()) == []


def test_a_refinement_needs_no_announcement_and_a_duplicate_is_refused(presets):
    tech = Department.objects.get(slug="technical-support")
    s2 = SlaPolicy(
        name="Tech S2", slug="tech-s2", line=tech.line, department=tech, severity=2,
        first_response_amount=Decimal(2),
    )  # fmt: skip
    assert policy_conflicts(s2, policies()) == []
    twin = SlaPolicy(
        name="Twin", slug="twin", line=tech.line, department=tech,
        first_response_amount=Decimal(2),
    )  # fmt: skip
    (conflict,) = policy_conflicts(twin, policies())
    assert conflict.same and "never applies" in str(conflict)


def test_the_admin_refuses_an_unannounced_shadowing_policy(admin, presets):
    line = SupportLine.objects.get(slug="ecommerce")
    data = {
        "name": "Vendor email",
        "slug": "vendor-email",
        "is_active": "on",
        "order": "50",
        "line": line.pk,
        "channel": "email",
        "first_response_amount": "8",
        "first_response_unit": "business_hours",
        "next_response_unit": "business_hours",
        "resolution_unit": "business_hours",
    }
    response = admin.post("/admin/sla/slapolicy/add/", data)
    assert response.status_code == 200
    assert "hides “Vendor email”" in response.content.decode()
    assert not SlaPolicy.objects.filter(slug="vendor-email").exists()
    # Inactive, it hides nothing; the list still shows the policies that do, if any.
    data.pop("is_active")
    assert admin.post("/admin/sla/slapolicy/add/", data).status_code == 302
    page = admin.get("/admin/sla/slapolicy/").content.decode()
    assert "policy-conflicts" not in page and "policy-gaps" not in page


def test_the_policy_list_warns_about_gaps(admin, presets):
    SlaPolicy.objects.filter(slug="cet-email").update(is_active=False)
    page = admin.get("/admin/sla/slapolicy/").content.decode()
    assert "policy-gaps" in page and "Reseller support, Email, S3 has no SLA policy" in page
    assert "Reseller support, Phone" not in page  # the phone policy still covers calls


def test_every_ticket_stores_which_policy_matched_and_why(presets):
    legal = Department.objects.get(slug="legal-abuse")
    ticket = ticket_open(
        subject="Phishing", department=legal,
        message=MessageIn(channel="portal", body_text="phishing page"),
    ).ticket  # fmt: skip
    sla = ticket_sla_recompute(ticket.pk, now=ams(2026, 11, 23, 10, 0))
    match = sla.explanation["match"]
    assert sla.explanation["line"] == "Domain reseller"
    assert match["policy"] == sla.policy.name and sla.policy.slug == "legal-abuse"
    assert match["why"] == (
        "matches line Domain reseller, department Legal / abuse, any channel, any severity"
    )
    assert match["ticket"]["channel"] == "portal"


def test_a_ticket_no_policy_matches_is_warned_about_in_the_admin_and_the_report(admin, presets):
    lonely = Department.objects.create(
        name="Billing", slug="billing", kind="customer_support",
        inbox_email="billing@supportdesk.localhost",
        line=SupportLine.objects.get(slug="reseller"),
    )  # fmt: skip
    ticket = ticket_open(
        subject="Invoice", department=lonely,
        message=MessageIn(channel="email", body_text="wrong VAT"),
    ).ticket  # fmt: skip
    sla = ticket_sla_recompute(ticket.pk)
    assert sla.policy is None and sla.first_response_due is None
    assert "No SLA policy matches this ticket" in sla.explanation["warning"]
    assert "department Billing" in sla.explanation["warning"]
    page = admin.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert 'id="sla-warning"' in page and "No SLA policy matches" in page
    report = admin.get("/admin/sla/ticketsla/report/").content.decode()
    assert 'id="sla-unmatched"' in report and "Invoice" in report
    unmatched = admin.get("/admin/sla/ticketsla/?matched=no").content.decode()
    assert "Invoice" in unmatched
