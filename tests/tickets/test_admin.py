"""The agents' admin: queues, one timeline per ticket, edits through the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import services
from tickets.models import Channel, Direction, EventKind, Status, Ticket
from tickets.services import MessageIn

from ..factories import AgentFactory, ContactFactory, open_ticket

pytestmark = pytest.mark.django_db


def make_tickets(count: int, departments: dict, agent) -> None:
    for i in range(count):
        contact = ContactFactory(email=f"c{i}-{Ticket.objects.count()}@example.com")
        ticket = open_ticket(
            subject=f"ticket {i}", contact=contact, department=list(departments.values())[i % 3]
        )
        services.ticket_assign(ticket=ticket, assignee=agent)


def changelist_queries(admin, url: str = "") -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = admin.get(reverse("admin:tickets_ticket_changelist") + url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_ticket_list_query_count_does_not_grow_with_rows(admin, departments, agent, settings):
    """No N+1: 3 rows and 45 rows cost the same number of queries."""
    settings.SUPPORTDESK_LIST_CACHE_SECONDS = 0  # the rendering's cost, not a replay's
    make_tickets(3, departments, agent)
    # The first page reads the signed-in admin in; later pages keep them while the sign-in
    # version is unchanged (supportdesk/signin.py): count a page after that one.
    changelist_queries(admin)
    few = changelist_queries(admin)
    changelist_queries(admin, "?status__exact=new&q=ticket")  # the query's reading is cached
    searched_few = changelist_queries(admin, "?status__exact=new&q=ticket")
    make_tickets(42, departments, agent)
    many = changelist_queries(admin)
    print(f"admin ticket list: {few} queries for 3 rows, {many} for 45 rows")
    assert few == many, f"{few} queries for 3 rows, {many} for 45"
    # The search box (search.selectors) costs a fixed number of queries, not one per row.
    searched_many = changelist_queries(admin, "?status__exact=new&q=ticket")
    assert searched_few == searched_many


def test_ticket_list_shows_columns_and_filters(admin, departments, anna, agent):
    ticket = open_ticket(subject="Transfer stuck", contact=anna, channel=Channel.CHAT)
    services.ticket_assign(ticket=ticket, assignee=agent)
    page = admin.get(reverse("admin:tickets_ticket_changelist")).content.decode()
    for text in (
        ticket.reference,
        "Transfer stuck",
        "Northwind Domains",
        "Anna de Vries",
        "Chat",
        "New",
        "S3 normal",
        "Customer support",
        "alice",
    ):
        assert text in page
    filtered = admin.get(reverse("admin:tickets_ticket_changelist"), {"status__exact": "solved"})
    assert ticket.reference not in filtered.content.decode()


def test_search_by_reference_and_contact_email(admin, departments, anna):
    wanted = open_ticket(subject="needle", contact=anna)
    other = open_ticket(subject="haystack")
    url = reverse("admin:tickets_ticket_changelist")
    by_ref = admin.get(url, {"q": wanted.reference}).content.decode()
    assert "needle" in by_ref and "haystack" not in by_ref
    by_mail = admin.get(url, {"q": "anna@northwind.example"}).content.decode()
    assert "needle" in by_mail and other.reference not in by_mail


def test_ticket_page_shows_one_timeline_of_every_channel_in_time_order(
    admin, departments, anna, agent
):
    base = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    ticket = open_ticket(
        subject="Checkout down",
        contact=anna,
        channel=Channel.EMAIL,
        body="email body",
        occurred_at=base,
    )
    entries = [
        (Channel.PHONE, Direction.INBOUND, "phone summary", 30),
        (Channel.CHAT, Direction.INBOUND, "chat line", 10),
        (Channel.PORTAL, Direction.INBOUND, "portal post", 20),
        (Channel.NOTE, Direction.INTERNAL, "note text", 40),
    ]
    for channel, direction, body, minutes in entries:
        services.message_add(
            ticket=ticket,
            message=MessageIn(
                channel=channel,
                direction=direction,
                body_text=body,
                author_user=agent if channel == Channel.NOTE else None,
                occurred_at=base + timedelta(minutes=minutes),
            ),
        )
    page = admin.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    order = ["email body", "chat line", "portal post", "phone summary", "note text"]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert "5 entries, all channels" in page


def test_html_payload_never_reaches_the_admin_page(admin, departments):
    ticket = open_ticket(
        body_html='<p>hello</p><script>alert("x")</script>'
        '<img src=x onerror="alert(1)"><a href="javascript:alert(2)">go</a>'
    )
    page = admin.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "hello" in page
    assert 'alert("x")' not in page and "onerror" not in page and "javascript:alert" not in page


def test_status_change_in_admin_goes_through_the_service(admin, departments, boss):
    ticket = open_ticket()
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    data = {
        "status": Status.SOLVED,
        "severity": 2,
        "department": ticket.department_id,
        "assignee": boss.pk,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
        # Registered by duplicates (tickets.admin_hooks): a browser sends its management form.
        "duplicate_flags-TOTAL_FORMS": 0,
        "duplicate_flags-INITIAL_FORMS": 0,
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.severity, ticket.assignee) == (Status.SOLVED, 2, boss)
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {EventKind.STATUS_CHANGED, EventKind.SEVERITY_CHANGED, EventKind.ASSIGNED} <= kinds
    assert ticket.solved_at is not None


def test_refused_transition_shows_error_and_changes_nothing(admin, departments, boss):
    ticket = open_ticket()
    services.ticket_status_set(ticket=ticket, status=Status.CLOSED)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    data = {
        "status": Status.OPEN,
        "severity": 3,
        "department": ticket.department_id,
        "assignee": "",
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
        # Registered by duplicates (tickets.admin_hooks): a browser sends its management form.
        "duplicate_flags-TOTAL_FORMS": 0,
        "duplicate_flags-INITIAL_FORMS": 0,
    }
    response = admin.post(url, data, follow=True)
    assert "cannot go from" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED


def test_agent_adds_internal_note(admin, departments, boss):
    ticket = open_ticket()
    response = admin.post(
        reverse("admin:tickets_ticket_note", args=[ticket.pk]), {"body": "Called the registry"}
    )
    assert response.status_code == 302
    note = ticket.messages.get(channel=Channel.NOTE)
    assert (note.direction, note.author_user, note.body_text) == (
        Direction.INTERNAL,
        boss,
        "Called the registry",
    )


def test_non_staff_cannot_open_the_admin(client, departments):
    ticket = open_ticket()
    user = AgentFactory(username="customer", is_staff=False)
    client.force_login(user)
    response = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_accounts_and_contacts_pages_with_inlines(admin, anna):
    account_page = admin.get(
        reverse("admin:tickets_account_change", args=[anna.account_id])
    ).content.decode()
    assert "Anna de Vries" in account_page
    contact_page = admin.get(
        reverse("admin:tickets_contact_change", args=[anna.pk])
    ).content.decode()
    assert "anna@northwind.example" in contact_page
    listing = admin.get(reverse("admin:tickets_contact_changelist")).content.decode()
    assert "anna@northwind.example" in listing
