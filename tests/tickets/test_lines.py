"""Support lines: a ticket belongs to the line the customer contacted, and the line's rules
(departments, accounts, channels, severity 1) hold in the services every path calls."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tickets import services
from tickets.errors import InvalidInput, MergeError
from tickets.lines import department_for_channel, language_for, line_text
from tickets.models import Channel, LineText, Severity, SupportLine
from tickets.services import MessageIn

from ..factories import AccountFactory, ContactFactory, open_ticket

pytestmark = pytest.mark.django_db


def test_one_installation_serves_both_operations(lines, departments):
    assert set(lines) == {"ecommerce", "reseller"}
    assert {d.slug for d in lines["ecommerce"].departments.all()} == {
        "customer-support",
        "technical-support",
    }
    assert {d.slug for d in lines["reseller"].departments.all()} == {
        "reseller-support",
        "legal-abuse",
    }
    regional = {i.label: i.language for i in lines["reseller"].inboxes.all()}
    assert regional["Netherlands support line"] == "nl"
    assert regional["Spanish support line"] == "es"
    assert regional["Russian support line"] == "ru"
    assert regional["Worldwide support line"] == ""  # the contact's or the mail's language


def test_a_ticket_gets_its_departments_line_or_the_one_named(lines, departments):
    vendor = open_ticket(department=departments["technical-support"])
    assert vendor.line == lines["ecommerce"] and vendor.language == "en"
    reseller = open_ticket(department=departments["reseller-support"])
    assert reseller.line == lines["reseller"]
    shared = departments["customer-support"]
    shared.line = None  # a department that serves every line
    shared.save()
    named = services.ticket_open(
        subject="x",
        department=shared,
        line=lines["reseller"],
        language="es",
        message=MessageIn(channel=Channel.EMAIL, body_text="hola"),
    ).ticket
    assert named.line == lines["reseller"] and named.language == "es"


def test_a_department_of_another_line_is_refused(lines, departments):
    with pytest.raises(InvalidInput, match="another support line"):
        services.ticket_open(
            subject="x",
            department=departments["technical-support"],
            line=lines["reseller"],
            message=MessageIn(channel=Channel.EMAIL, body_text="x"),
        )


def test_an_account_of_another_line_is_not_attached_through_its_contact(lines, departments):
    """The ticket's account comes from its line: a vendor customer writing to the reseller
    gets no vendor account information attached there."""
    shop = AccountFactory(name="Shop", line=lines["ecommerce"])
    irina = ContactFactory(account=shop, email="irina@shop.example", verified=True)
    ticket = open_ticket(department=departments["reseller-support"], contact=irina)
    assert ticket.account is None
    assert open_ticket(contact=irina).account == shop  # her own line


def test_severity_1_only_in_technical_support_in_every_service(lines, departments, agent):
    """Rule 4: the admin, the API and the agents' pages all call these services."""
    support = open_ticket()
    with pytest.raises(InvalidInput, match="technical"):
        services.ticket_severity_set(ticket=support, severity=Severity.S1, actor=agent)
    with pytest.raises(InvalidInput, match="technical"):
        services.ticket_open(
            subject="down",
            department=departments["customer-support"],
            severity=Severity.S1,
            message=MessageIn(channel=Channel.EMAIL, body_text="x"),
        )
    tech = open_ticket(department=departments["technical-support"])
    critical = services.ticket_severity_set(ticket=tech, severity=Severity.S1, actor=agent)
    assert critical.severity == Severity.S1
    with pytest.raises(InvalidInput, match="technical"):
        services.ticket_department_set(
            ticket=critical, department=departments["customer-support"], actor=agent
        )
    # The reseller's line has no such rule.
    reseller = open_ticket(department=departments["reseller-support"])
    assert services.ticket_severity_set(ticket=reseller, severity=Severity.S1).severity == 1


def test_the_admin_refuses_s1_on_customer_support(admin, departments):
    ticket = open_ticket()
    response = admin.post(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {
            "status": ticket.status,
            "severity": "1",
            "department": ticket.department_id,
            "assignee": "",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
            "duplicate_flags-TOTAL_FORMS": "0",
            "duplicate_flags-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert "technical" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.severity == Severity.S3


def test_a_critical_ticket_is_not_merged_into_customer_support(departments):
    critical = open_ticket(department=departments["technical-support"])
    services.ticket_severity_set(ticket=critical, severity=Severity.S1)
    question = open_ticket()
    with pytest.raises(MergeError, match="merge .* instead"):
        services.ticket_merge(source=critical, target=question)


def test_tickets_of_two_lines_are_not_merged(departments):
    vendor = open_ticket()
    reseller = open_ticket(department=departments["reseller-support"])
    with pytest.raises(MergeError, match="different support lines"):
        services.ticket_merge(source=reseller, target=vendor)


def test_channels_per_line(lines, departments):
    """Rule 11: the vendor's customer support is text only; the reseller takes calls."""
    with pytest.raises(InvalidInput, match="takes no phone"):
        services.ticket_open(
            subject="call",
            department=departments["customer-support"],
            message=MessageIn(channel=Channel.PHONE, body_text="called"),
        )
    assert department_for_channel(Channel.PHONE) == departments["reseller-support"]
    assert department_for_channel(Channel.PHONE, lines["ecommerce"]) is None
    assert department_for_channel(Channel.CHAT, lines["ecommerce"]).slug == "customer-support"


def test_language_comes_from_inbox_then_contact_then_text(lines):
    reseller = lines["reseller"]
    pieter = ContactFactory(language="nl")
    assert language_for(line=reseller, inbox_language="es", contact=pieter) == "es"
    assert language_for(line=reseller, contact=pieter, detected="ru") == "nl"
    assert language_for(line=reseller, detected="ru") == "ru"
    assert language_for(line=lines["ecommerce"], detected="nl") == "en"  # not answered there


def test_a_lines_own_text_wins_in_its_language(lines):
    reseller = lines["reseller"]
    LineText.objects.create(line=reseller, key="auto_reply", language="nl", text="Dank je!")
    assert line_text(reseller, "auto_reply", "nl", "Thank you") == "Dank je!"
    assert line_text(reseller, "auto_reply", "en", "Thank you") == "Thank you"


def test_the_default_line_is_unique(lines):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SupportLine.objects.create(name="Third", slug="third", is_default=True)


def test_check_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_admin_edits_a_line_with_its_inboxes_and_texts(admin, lines):
    reseller = lines["reseller"]
    page = admin.get(f"/admin/tickets/supportline/{reseller.pk}/change/").content.decode()
    assert "reseller-nl@supportdesk.localhost" in page and "Netherlands support line" in page
    assert admin.get("/admin/tickets/supportline/").status_code == 200
