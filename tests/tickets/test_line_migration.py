"""The support-line migrations keep every existing ticket and give each one a line."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.migrations import leaves, migrate
from tickets.defaults import ensure_standard_departments

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("tickets", "0005_sender_verified_event")]


def test_existing_tickets_get_their_departments_line_and_nothing_is_lost():
    try:
        old = migrate(BEFORE)
        department = old.get_model("tickets", "Department")
        ticket = old.get_model("tickets", "Ticket")
        ensure_standard_departments(department)  # a transactional test before may flush them
        support = department.objects.get(slug="customer-support")
        legal = department.objects.get(slug="legal-abuse")
        own = department.objects.create(
            name="Billing", slug="billing", kind="customer_support", inbox_email="bill@x.example"
        )
        now = timezone.now()
        for number, dept in ((900001, support), (900002, legal), (900003, own)):
            ticket.objects.create(
                number=number,
                subject=f"old {number}",
                department=dept,
                origin_channel="email",
                created_at=now,
                updated_at=now,
            )
        new = migrate(leaves())
        rows = {
            t.number: (t.subject, t.line.slug)
            for t in new.get_model("tickets", "Ticket").objects.select_related("line")
        }
        assert rows == {
            900001: ("old 900001", "ecommerce"),  # the vendor's customer support
            900002: ("old 900002", "reseller"),  # the reseller's legal team
            900003: ("old 900003", "ecommerce"),  # an admin's department: the default line
        }
        line = new.get_model("tickets", "SupportLine")
        assert line.objects.get(is_default=True).slug == "ecommerce"
        inboxes = new.get_model("tickets", "LineInbox").objects.filter(line__slug="reseller")
        assert {i.language for i in inboxes} == {"", "nl", "es", "ru"}
        departments = new.get_model("tickets", "Department").objects
        assert not departments.get(slug="customer-support").accepts_phone  # text only
    finally:
        migrate(leaves())
