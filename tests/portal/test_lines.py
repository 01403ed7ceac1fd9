"""The portal and the API serve the line the customer contacted: by host, by path, by
integration; the registrant manages contacts like the owner; reseller chat is for
resellers; technical support takes registered contacts only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.models import Integration
from tests.factories import AccountFactory, ContactFactory
from tickets.models import Ticket

from .conftest import sign_in_link

pytestmark = pytest.mark.django_db

FORM = {
    "topic": "technical",
    "subject": "Transfer of example.nl fails",
    "description": "Error 500 when I click transfer",
    "severity": "3",
}


def sign_in(client, email: str):
    client.post("/portal/sign-in/", {"email": email})
    client.post(sign_in_link())
    return client


def test_the_portal_path_chooses_the_line(signed_in, lines, departments):
    assert signed_in.get("/portal/line/reseller/").status_code == 302
    signed_in.post("/portal/tickets/new/", FORM)
    ticket = Ticket.objects.get()
    # The reseller has no technical department: its support takes technical problems.
    assert (ticket.line.slug, ticket.department.slug) == ("reseller", "reseller-support")
    assert signed_in.get("/portal/line/nope/").status_code == 404


def test_the_portal_host_chooses_the_line(signed_in, lines, departments, settings):
    settings.ALLOWED_HOSTS = ["support.reseller.example", "testserver"]
    reseller = lines["reseller"]
    reseller.portal_host = "support.reseller.example"
    reseller.save()
    signed_in.post("/portal/tickets/new/", FORM, HTTP_HOST="support.reseller.example")
    signed_in.post("/portal/tickets/new/", FORM)  # any other host: the default line
    assert sorted(Ticket.objects.values_list("line__slug", flat=True)) == [
        "ecommerce",
        "reseller",
    ]


def test_a_contact_of_a_lines_account_gets_that_line(client, lines, departments):
    account = AccountFactory(name="Pine", reseller_id="311902", line=lines["reseller"])
    ContactFactory(account=account, email="marta@pine.example", role="owner", verified=True)
    sign_in(client, "marta@pine.example").post("/portal/tickets/new/", FORM)
    assert Ticket.objects.get().line == lines["reseller"]


def test_the_registrant_manages_contacts_like_the_owner(client, reseller):
    """Rule 8: the contact person from the registration form issues the contact list."""
    ContactFactory(
        account=reseller, name="Rita", email="rita@northwind.example", role="registrant",
        verified=True,
    )  # fmt: skip
    pending = ContactFactory(account=reseller, name="Piet", role="unverified")
    sign_in(client, "rita@northwind.example")
    assert client.get("/portal/contacts/").status_code == 200
    client.post("/portal/contacts/", {"contact": pending.pk, "action": "approve"})
    pending.refresh_from_db()
    assert pending.is_verified


def test_reseller_chat_is_for_resellers(client, lines, departments, chat_calendar):
    """Rule 11: a contact of an account without a reseller ID is sent to the ticket form."""
    shop = AccountFactory(name="Shop", line=lines["reseller"])
    ContactFactory(account=shop, email="shop@shop.example", verified=True)
    sign_in(client, "shop@shop.example")
    response = client.get("/portal/chat/")
    assert response.status_code == 302 and response["Location"] == "/portal/tickets/new/"


@pytest.fixture
def reseller_api(lines):
    integration = Integration.objects.create(
        name="reseller-crm",
        can_open_tickets=True,
        can_push_phone=True,
        can_read_tickets=True,
        line=lines["reseller"],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
    return client


def test_the_api_integration_chooses_the_line(reseller_api, departments):
    response = reseller_api.post(
        "/api/v1/tickets/",
        {"topic": "account", "subject": "S", "description": "D", "from_email": "x@example.com"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    call = reseller_api.post(
        "/api/v1/channels/phone/?sync=1",
        {"call_id": "c-9", "caller": "+31 10 448 2299", "summary": "Urgent transfer"},
        format="json",
    )
    assert call.status_code == 201, call.json()
    rows = Ticket.objects.values_list("line__slug", "department__slug", "origin_channel")
    assert sorted(rows) == [
        ("reseller", "reseller-support", "api"),
        ("reseller", "reseller-support", "phone"),
    ]


def test_technical_support_by_api_needs_a_registered_contact(departments):
    integration = Integration.objects.create(name="crm", can_open_tickets=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
    response = client.post(
        "/api/v1/tickets/",
        {"topic": "technical", "subject": "S", "description": "D", "from_email": "x@ex.com"},
        format="json",
    )
    assert response.status_code == 400
    assert "register first" in response.json()["from_email"][0]


def test_each_portal_shows_its_lines_phone_number_hours_and_weekend_hint(client, presets):
    """Rule 14: the portal shows the line's phone number, and the hint to ask non-urgent
    questions after the weekend."""
    vendor = client.get("/portal/").content.decode()
    assert "ask non-urgent and uncritical questions after the weekend" in vendor
    assert 'id="line-phone"' not in vendor  # text only: no phone line
    assert "Moscow time" in vendor
    client.get("/portal/line/reseller/")
    reseller = client.get("/portal/").content.decode()
    assert '<strong id="line-phone">+31 (0)10 4482299</strong>' in reseller
    assert "Amsterdam time" in reseller
    assert "after the weekend" in reseller


@pytest.fixture
def api(db):
    """An integration of no particular line (the default one) that pushes chats and calls."""
    integration = Integration.objects.create(name="pbx", can_push_chat=True, can_push_phone=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
    return client


def test_legal_takes_email_only_and_the_vendor_chats_in_customer_support(api, departments):
    """Seed pages: "Our legal team is only available by email"; the vendor's customer
    support works in chats ("Text only, voice calls are not included")."""
    refused = api.post(
        "/api/v1/channels/chat/?sync=1",
        {"id": "l-1", "conversation_id": "c-legal", "text": "phishing!",
         "department": "legal-abuse"},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 400  # checked at the door, before anything is stored
    assert "does not take chats" in refused.json()["department"][0]
    call = api.post(
        "/api/v1/channels/phone/?sync=1",
        {"call_id": "c-legal", "caller": "+31 20 123 4567", "summary": "phishing",
         "department": "legal-abuse"},
        format="json",
    )  # fmt: skip
    assert call.status_code == 422 and "takes no calls" in call.json()["error"]
    chat = api.post(
        "/api/v1/channels/chat/?sync=1",
        {"id": "v-1", "conversation_id": "c-vendor", "text": "How do I set VAT?"},
        format="json",
    )
    assert chat.status_code == 201, chat.json()
    ticket = Ticket.objects.get()
    assert (ticket.line.slug, ticket.department.slug) == ("ecommerce", "customer-support")
