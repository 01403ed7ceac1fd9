"""The one search box: the workspace page, the API, the customers' portal search and the
admin's ticket list, all through the same selector."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kb.models import Article
from search.selectors import ticket_search
from tests.factories import AgentFactory, ContactFactory, open_ticket
from tests.portal.conftest import sign_in_link
from tests.workspace.conftest import grant_ticket_permissions
from tickets.services import MessageIn, message_add

from .conftest import reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client):
    user = AgentFactory(username="lena", first_name="Lena")
    grant_ticket_permissions(user)
    client.force_login(user)
    return client


def test_the_workspace_header_box_searches(desk, anna):
    ticket = open_ticket(subject="Mailbox full", body="Quota exceeded", contact=anna)
    reply(ticket, "Still the quota warning every morning")
    home = desk.get(reverse("workspace:home"), follow=True).content.decode()
    assert f'action="{reverse("search:desk")}"' in home
    response = desk.get(reverse("search:desk"), {"q": "quota warning morning"})
    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.reference in page
    assert "<mark>quota</mark>" in page.lower()


def test_a_full_reference_opens_the_ticket_and_digits_search(desk, anna):
    ticket = open_ticket(subject="X", body="Y", contact=anna)
    response = desk.get(reverse("search:desk"), {"q": ticket.reference})
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:ticket", args=[ticket.number])
    digits = desk.get(reverse("search:desk"), {"q": str(ticket.number)})
    assert digits.status_code == 200 and ticket.reference in digits.content.decode()


def test_the_desk_search_filters_and_says_what_is_wrong(desk, anna, departments):
    open_ticket(subject="Filter me", body="papaya", contact=anna)
    tech = departments["technical-support"]
    none = desk.get(reverse("search:desk"), {"q": "papaya", "department": tech.pk})
    assert "No ticket matches" in none.content.decode()
    bad = desk.get(
        reverse("search:desk"),
        {"q": "papaya", "created_from": "2025-05-02", "created_to": "2025-05-01"},
    )
    assert "The end date comes before the start date." in bad.content.decode()


def test_customers_and_strangers_cannot_use_the_desk_search(client, anna):
    response = client.get(reverse("search:desk"), {"q": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_api_search(anna, departments):
    from rest_framework.test import APIClient

    from api.models import Integration

    ticket = open_ticket(subject="Backup", body="The restore of backup 77 failed", contact=anna)
    message_add(
        ticket=ticket,
        message=MessageIn(
            channel="note",
            direction="internal",
            body_text="internal fig remark",
            author_user=AgentFactory(),
        ),
    )
    reader = Integration.objects.create(name="crm", can_read_tickets=True)
    pusher = Integration.objects.create(name="pbx", can_push_phone=True)
    client = APIClient()
    assert client.get("/api/v1/search/", {"q": "backup"}).status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {pusher.issue_token()}")
    assert client.get("/api/v1/search/", {"q": "backup"}).status_code == 403
    client.credentials(HTTP_AUTHORIZATION=f"Token {reader.issue_token()}")
    body = client.get("/api/v1/search/", {"q": "restore failed"}).json()
    assert [r["reference"] for r in body["results"]] == [ticket.reference]
    assert body["recent_only"] is False  # True for stop words alone (PostgreSQL)
    assert "<mark>" in body["results"][0]["snippet"]
    assert body["results"][0]["url"] == f"/api/v1/tickets/{ticket.reference}/"
    assert client.get("/api/v1/search/", {"q": "fig remark"}).json()["results"] == []
    by_reseller = client.get("/api/v1/search/", {"q": "200417"}).json()
    assert [r["reference"] for r in by_reseller["results"]] == [ticket.reference]
    missing = client.get("/api/v1/search/", {"status": "open"})
    assert missing.status_code == 400 and "q" in missing.json()
    assert client.get("/api/v1/search/", {"q": "x", "status": "nope"}).status_code == 400


def test_the_portal_search_covers_the_customers_own_tickets_and_the_kb(client, anna):
    ours = open_ticket(subject="Renewal question", body="When does hosting renew?", contact=anna)
    message_add(
        ticket=ours,
        message=MessageIn(
            channel="note",
            direction="internal",
            body_text="renew secretnote",
            author_user=AgentFactory(),
        ),
    )
    theirs = open_ticket(subject="Renewal too", body="renew", contact=ContactFactory())
    Article.objects.create(
        title="How renewal works", slug="renewal", body="Hosting renews yearly.", published=True
    )
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    page = client.get(reverse("search:portal"), {"q": "renewal"}).content.decode()
    assert ours.reference in page
    assert theirs.reference not in page
    assert "How renewal works" in page
    notes = client.get(reverse("search:portal"), {"q": "secretnote"}).content.decode()
    assert ours.reference not in notes
    other = client.get(reverse("search:portal"), {"q": theirs.reference}).content.decode()
    assert f">{theirs.reference}<" not in other
    assert "None of your tickets matches." in other


def test_the_portal_search_needs_a_signed_in_customer(client):
    response = client.get(reverse("search:portal"), {"q": "x"})
    assert response.status_code == 302 and "/portal/sign-in/" in response["Location"]


def test_the_admin_ticket_search_reads_message_text_without_distinct(admin, anna, departments):
    ticket = open_ticket(subject="Plain", body="the blueberry module crashed", contact=anna)
    open_ticket(subject="Other", body="nothing")
    url = reverse("admin:tickets_ticket_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = admin.get(url, {"q": "blueberry"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [ticket]
    assert not any("DISTINCT" in q["sql"].upper() for q in queries.captured_queries)
    by_email = admin.get(url, {"q": "anna@northwind.example"})
    assert list(by_email.context["cl"].result_list) == [ticket]


@pytest.mark.parametrize("written", ["[SD - {n}]", "[SD-{n}]", "SD#{n}", "sd - {n}", "#{n}"])
def test_every_form_of_a_reference_finds_the_ticket_in_the_admin_and_search(admin, anna, written):
    """A reference as customers and our own subjects write it ("[SD - 100001]" threads in
    email) finds its ticket in the admin's list, the search selector and the desk's box."""
    ticket = open_ticket(subject="Plain", body="nothing to see", contact=anna)
    open_ticket(subject="Other", body="nothing")
    query = written.format(n=ticket.number)
    listed = admin.get(reverse("admin:tickets_ticket_changelist"), {"q": query})
    assert list(listed.context["cl"].result_list) == [ticket]
    assert [hit.ticket for hit in ticket_search(query).hits] == [ticket]
    opened = admin.get(reverse("search:desk"), {"q": query})
    if written.startswith("#"):  # a bare number is also a word and a reseller ID: a list
        assert opened.status_code == 200 and ticket.reference in opened.content.decode()
    else:
        assert opened["Location"] == reverse("workspace:ticket", args=[ticket.number])
