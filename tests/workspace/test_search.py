"""Search what customers wrote (issue 13): subjects and inbound messages, from the header's
box; agents only; on PostgreSQL through the full-text indexes."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.factories import ContactFactory, open_ticket
from tickets import services
from tickets.models import Channel, Direction
from tickets.services import MessageIn
from workspace.search import PG_MESSAGES_SQL, search_customer_text

pytestmark = pytest.mark.django_db


def test_finds_customers_words_in_messages_and_subjects(desk, departments, desk_agent):
    customer = ContactFactory(name="Irina", email="irina@lumen-shop.example")
    first = open_ticket(subject="Checkout broken", body="The basket shows zero items.")
    services.message_add(
        ticket=first,
        message=MessageIn(
            channel=Channel.EMAIL,
            body_text="Still broken: the payment widget throws error 4711 after login.",
            author_contact=customer,
            external_id="<search-1@mail.example>",
        ),
    )
    services.message_add(  # what an agent wrote is not what a customer wrote
        ticket=open_ticket(subject="Other"),
        actor=desk_agent,
        message=MessageIn(
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            body_text="Error 4711 means the widget key expired.",
            author_user=desk_agent,
        ),
    )
    subject_only = open_ticket(subject="Widget 4711 again", body="Same as last week.")
    open_ticket(subject="Не приходят письма", body="Со вчерашнего дня не приходит почта.")

    hits = search_customer_text("error 4711")
    assert [h.number for h in hits] == [first.number]
    assert "error 4711" in hits[0].snippet and hits[0].written_at is not None
    assert {h.number for h in search_customer_text("4711")} == {first.number, subject_only.number}
    assert [h.subject for h in search_customer_text("почта")] == ["Не приходят письма"]
    assert search_customer_text("   ") == [] and search_customer_text("nowhere-at-all") == []

    page = desk.get("/desk/search/messages/", {"q": "error 4711"}).content.decode()
    found = page.split('id="search-hits"')[1].split("</ul>")[0]
    assert f"/desk/t/{first.number}/" in found and "Other</strong>" not in found
    # The header's box: a number opens the ticket, words search.
    response = desk.get("/desk/goto/", {"q": "payment widget"})
    assert response.status_code == 302
    assert response["Location"] == "/desk/search/messages/?q=payment+widget"
    assert desk.get("/desk/goto/", {"q": first.reference})["Location"] == (
        f"/desk/t/{first.number}/"
    )


def test_search_is_for_agents_only(client, departments):
    open_ticket(subject="Secret", body="my password is hunter2")
    response = client.get("/desk/search/messages/", {"q": "hunter2"})
    assert response.status_code == 302 and "hunter2" not in response.content.decode()


@pytest.mark.postgres
def test_postgres_uses_the_full_text_index(departments):
    for n in range(30):
        open_ticket(subject=f"filler {n}", body=f"Nothing to see here {n}.")
    with connection.cursor() as cursor:
        # A tiny table: without these the planner may walk the primary key backwards
        # (ORDER BY id DESC LIMIT) and filter, which says nothing about the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + PG_MESSAGES_SQL, [Direction.INBOUND, "nothing", 10])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ws_message_inbound_fts" in plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_missing_search_index_is_left_to_the_worker_not_to_migrate(departments):
    """On a big desk migrate does not build the GIN index over every message (minutes):
    it queues the concurrent build and says so; the command builds it too."""
    from io import StringIO

    from django.core.management import call_command

    from workspace.search_indexes import missing_indexes

    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX ws_message_inbound_fts")
    assert missing_indexes() == ["ws_message_inbound_fts"]
    out = StringIO()
    call_command("migrate", interactive=False, verbosity=1, stdout=out)
    assert "workspace.search_indexes" in out.getvalue()
    assert missing_indexes() == ["ws_message_inbound_fts"]  # migrate did not wait for it
    out = StringIO()
    call_command("workspace_search_index", stdout=out)
    assert "ws_message_inbound_fts" in out.getvalue() and missing_indexes() == []
