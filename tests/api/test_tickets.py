"""Reading and opening tickets through the API."""

from __future__ import annotations

import pytest
import time_machine
from django.db.models import Prefetch
from rest_framework.test import APIClient

from tests.factories import ContactFactory, open_ticket
from tickets import services
from tickets.models import Channel, Direction, Ticket
from tickets.services import MessageIn

pytestmark = pytest.mark.django_db
URL = "/api/v1/tickets/"


def test_list_filters_and_cursor_pagination(api, departments, anna):
    with time_machine.travel("2026-06-01 09:00Z"):
        old = open_ticket(subject="Old one", contact=anna)
    with time_machine.travel("2026-06-02 09:00Z"):
        tech = open_ticket(subject="Tech", department=departments["technical-support"])
    with time_machine.travel("2026-06-03 09:00Z"):
        open_ticket(subject="Chatty", channel=Channel.CHAT)

    refs = lambda r: [t["reference"] for t in r.json()["results"]]  # noqa: E731
    assert refs(api.get(URL, {"department": "technical-support"})) == [tech.reference]
    assert refs(api.get(URL, {"contact_email": "ANNA@northwind.example"})) == [old.reference]
    assert refs(api.get(URL, {"channel": "chat"})) == [
        Ticket.objects.get(subject="Chatty").reference
    ]
    assert len(refs(api.get(URL, {"updated_since": "2026-06-02T00:00:00Z"}))) == 2

    page1 = api.get(URL, {"page_size": 2}).json()
    assert [t["subject"] for t in page1["results"]] == ["Chatty", "Tech"]
    page2 = api.get(page1["next"]).json()
    assert [t["subject"] for t in page2["results"]] == ["Old one"] and page2["next"] is None
    assert page1["results"][1]["department"] == "technical-support"


def test_bad_filters_are_400_with_field_messages(api, departments):
    assert "status" in api.get(URL, {"status": "lost"}).json()
    response = api.get(URL, {"updated_since": "yesterday"})
    assert response.status_code == 400 and "updated_since" in response.json()


def test_detail_has_the_timeline_without_internal_notes(api, departments, anna, agent):
    ticket = open_ticket(subject="Zone", contact=anna, body="SERVFAIL")
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text="secret",
            author_user=agent,
        ),
    )
    body = api.get(f"{URL}{ticket.reference}/").json()
    assert (
        body["reference"] == ticket.reference
        and body["contact"]["email"] == "anna@northwind.example"
    )
    assert [m["body_text"] for m in body["timeline"]] == ["SERVFAIL"]
    assert api.get(f"{URL}SD-1/").status_code == 404


def test_post_opens_a_ticket_like_the_portal(api, departments, anna):
    payload = {
        "topic": "technical",
        "subject": "API returns 500",
        "description": "createDomain fails",
        "details": "order 123",
        "severity": 1,
        "from_email": "anna@northwind.example",
        "external_id": "crm-1",
    }
    response = api.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    assert ticket.department.slug == "technical-support" and ticket.severity == 1
    assert ticket.contact == anna and ticket.account == anna.account
    assert ticket.origin_channel == Channel.API
    assert api.post(URL, payload, format="json").status_code == 200  # idempotent
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"topic": "account", "severity": 1}, "severity"),
        ({"topic": "custom_development"}, "topic"),
        ({"from_email": "not-an-email"}, "from_email"),
        ({"subject": ""}, "subject"),
        ({"reseller_id": "nope"}, "reseller_id"),
    ],
)
def test_post_refuses_bad_input_with_field_messages(api, departments, change, field):
    payload = {
        "topic": "technical",
        "subject": "S",
        "description": "D",
        "from_email": "x@example.com",
        **change,
    }
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert Ticket.objects.count() == 0


def test_abuse_goes_to_legal(api, departments):
    response = api.post(
        URL,
        {
            "topic": "abuse",
            "subject": "Phishing site",
            "description": "d",
            "from_email": "x@example.com",
        },
        format="json",
    )
    assert response.json()["department"] == "legal-abuse"


def test_read_scope_is_required(api, integration, departments):
    integration.can_read_tickets = False
    integration.save()
    assert api.get(URL).status_code == 403
    assert APIClient().get(URL).status_code == 401


def test_schema_is_served(db):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/channels/chat/" in text and "/api/v1/tickets/{reference}/" in text
    assert "IntegrationToken" in text and "HmacSignature" in text


def test_list_query_count_does_not_grow_with_rows(api, departments, django_assert_max_num_queries):
    for n in range(5):
        open_ticket(subject=f"T{n}", contact=ContactFactory(email=f"c{n}@example.com"))
    with django_assert_max_num_queries(4):
        assert len(api.get(URL).json()["results"]) == 5


def test_fast_list_rows_equal_the_documented_serializer(departments, anna):
    """The list's direct rows match TicketOut (the schema's shape) field for field."""
    from api.serializers import TicketOut, ticket_json
    from tickets.models import ContactEmail
    from tickets.selectors import ticket_list, ticket_list_rows

    # Anna's primary address is not her first one: the row must still show the primary.
    ContactEmail.objects.filter(contact=anna).update(is_primary=False)
    ContactEmail.objects.create(
        contact=anna, email="anna.primary@northwind.example", is_primary=True
    )
    open_ticket(subject="One", contact=anna)
    open_ticket(subject="Two")
    rows = {row["id"]: row for row in ticket_list_rows()}
    tickets = ticket_list().prefetch_related(
        Prefetch("contact__emails", queryset=ContactEmail.objects.order_by("-is_primary", "id"))
    )
    assert len(rows) == 2
    for ticket in tickets:
        assert ticket_json(rows[ticket.pk]) == TicketOut(ticket).data
    assert {r["contact"]["email"] for r in map(ticket_json, rows.values()) if r["contact"]} >= {
        "anna.primary@northwind.example"
    }


def test_list_without_account_or_contact(api, departments):
    """A ticket with no account or contact lists with nulls, not errors."""
    ticket = open_ticket(subject="Anonymous")
    Ticket.objects.filter(pk=ticket.pk).update(account=None, contact=None)
    row = api.get(URL).json()["results"][0]
    assert row["account"] is None and row["contact"] is None
