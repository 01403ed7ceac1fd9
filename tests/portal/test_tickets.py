"""Submitting and following tickets in the portal; nobody sees another account's tickets."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import open_ticket
from tests.outbox_helpers import deliver as outbox_deliver
from tickets import services
from tickets.models import Channel, Direction, Status, Ticket
from tickets.services import MessageIn

from .conftest import sign_in_link

pytestmark = pytest.mark.django_db


def submit(client, **extra):
    data = {
        "topic": "technical",
        "subject": "Transfer of example.nl fails",
        "description": "Error 500 when I click transfer",
        "details": "example.nl, order 4711",
        "happened_at": "2026-06-01T09:15",
        "severity": "3",
        **extra,
    }
    return client.post("/portal/tickets/new/", data)


def test_submit_opens_ticket_with_who_what_when_and_mails_number(signed_in, anna, departments):
    upload = SimpleUploadedFile("shot.png", b"\x89PNG...", content_type="image/png")
    response = submit(signed_in, attachments=upload)
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/portal/tickets/{ticket.number}/submitted/"
    assert ticket.reference in signed_in.get(response["Location"]).content.decode()
    assert ticket.contact == anna and ticket.account == anna.account
    assert ticket.origin_channel == Channel.PORTAL and ticket.department.slug == "technical-support"
    first = ticket.messages.get()
    assert "order 4711" in first.body_text and "2026-06-01T09:15" in first.body_text
    assert first.metadata["reseller_id"] == "200417"
    assert first.attachments.get().filename == "shot.png"
    assert ticket.reference in outbox_deliver()[-1].subject


def test_severity_1_only_for_technical_problems(signed_in, departments):
    response = submit(signed_in, topic="account", severity="1")
    assert "technical" in response.content.decode() and Ticket.objects.count() == 0
    submit(signed_in, topic="technical", severity="1")
    assert Ticket.objects.get().severity == 1


def test_abuse_goes_to_legal_and_custom_development_gets_the_forum_answer(signed_in, departments):
    submit(signed_in, topic="abuse", subject="Phishing shop")
    assert Ticket.objects.get().department.slug == "legal-abuse"
    response = submit(signed_in, topic="custom_development", subject="Build me a module")
    assert "forum" in response.content.decode() and Ticket.objects.count() == 1


def test_list_shows_own_tickets_and_owner_sees_the_account(
    client, signed_in, anna, bert, mallory, departments
):
    mine = open_ticket(subject="Anna's", contact=anna)
    berts = open_ticket(subject="Bert's", contact=bert)
    theirs = open_ticket(subject="Mallory's", contact=mallory)
    page = signed_in.get("/portal/tickets/").content.decode()
    assert mine.reference in page and berts.reference in page  # Anna owns the account
    assert theirs.reference not in page
    assert signed_in.get(f"/portal/tickets/{theirs.number}/").status_code == 404

    client.post("/portal/sign-out/")
    client.post("/portal/sign-in/", {"email": "bert@northwind.example"})
    client.post(sign_in_link())
    page = client.get("/portal/tickets/").content.decode()
    assert berts.reference in page and mine.reference not in page  # Bert is no owner
    assert client.get(f"/portal/tickets/{mine.number}/").status_code == 404


def test_another_accounts_ticket_cannot_be_replied_solved_or_downloaded(
    signed_in, mallory, departments
):
    theirs = open_ticket(subject="Mallory's", contact=mallory)
    assert (
        signed_in.post(f"/portal/tickets/{theirs.number}/reply/", {"body": "x"}).status_code == 404
    )
    assert signed_in.post(f"/portal/tickets/{theirs.number}/solve/").status_code == 404
    services.message_add(
        ticket=theirs,
        message=MessageIn(
            channel=Channel.EMAIL, body_text="f", attachments=[services.AttachmentIn("a.txt", b"x")]
        ),
    )
    attachment = theirs.messages.last().attachments.get()
    assert signed_in.get(f"/portal/attachments/{attachment.pk}/").status_code == 404


def test_detail_hides_internal_notes_and_reply_and_solve_work(signed_in, anna, agent, departments):
    ticket = open_ticket(subject="Zone", contact=anna, body="first")
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text="SECRET NOTE",
            author_user=agent,
        ),
    )
    page = signed_in.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "first" in page and "SECRET NOTE" not in page

    upload = SimpleUploadedFile("log.txt", b"trace", content_type="text/plain")
    signed_in.post(
        f"/portal/tickets/{ticket.number}/reply/", {"body": "more info", "attachments": upload}
    )
    reply = ticket.messages.filter(channel=Channel.PORTAL).get()
    assert reply.author_contact == anna and reply.attachments.get().filename == "log.txt"
    download = signed_in.get(f"/portal/attachments/{reply.attachments.get().pk}/")
    assert download["Content-Disposition"].startswith("attachment")

    signed_in.post(f"/portal/tickets/{ticket.number}/solve/")
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED


def test_owner_approves_and_removes_contacts(signed_in, anna, reseller):
    from tests.factories import ContactFactory

    pending = ContactFactory(account=reseller, name="Piet", role="unverified")
    assert "Pending approval" in signed_in.get("/portal/contacts/").content.decode()
    signed_in.post("/portal/contacts/", {"contact": pending.pk, "action": "approve"})
    pending.refresh_from_db()
    assert pending.is_verified and pending.role == "authorized"
    signed_in.post("/portal/contacts/", {"contact": pending.pk, "action": "remove"})
    pending.refresh_from_db()
    assert pending.account is None and not pending.is_verified


def test_owner_cannot_touch_another_accounts_contacts(signed_in, mallory):
    response = signed_in.post("/portal/contacts/", {"contact": mallory.pk, "action": "remove"})
    assert response.status_code == 404
    mallory.refresh_from_db()
    assert mallory.is_verified


def test_non_owner_has_no_contacts_page(client, bert):
    client.post("/portal/sign-in/", {"email": "bert@northwind.example"})
    client.post(sign_in_link())
    assert client.get("/portal/contacts/").status_code == 404


def test_list_pages_by_keyset(signed_in, anna, departments):
    import time_machine

    for n in range(52):
        with time_machine.travel(f"2026-06-01 10:{n:02d}Z"):
            open_ticket(subject=f"Ticket {n}", contact=anna)
    first = signed_in.get("/portal/tickets/").content.decode()
    assert "Ticket 51" in first and "Ticket 2<" in first and "Ticket 1<" not in first
    older = first.split('href="?')[1].split('"')[0].replace("&amp;", "&")
    second = signed_in.get(f"/portal/tickets/?{older}").content.decode()
    assert "Ticket 1<" in second and "Ticket 0<" in second and "Ticket 2<" not in second
    assert 'id="older"' not in second


def test_list_rows_are_escaped_and_link_to_the_ticket(signed_in, anna, departments):
    """Rows are built outside the template engine: values must still be escaped."""
    ticket = open_ticket(subject='<script>alert("x")</script> & co', contact=anna)
    page = signed_in.get("/portal/tickets/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert f'<a href="/portal/tickets/{ticket.number}/">{ticket.reference}</a>' in page
    assert "<td>New</td><td>Customer support</td>" in page


def test_list_query_count_does_not_grow_with_rows(
    signed_in, anna, departments, session_reads, django_assert_num_queries
):
    for n in range(5):
        open_ticket(subject=f"T{n}", contact=anna)
    # signed-in contact, the support line (header), one page of rows; the session too
    # unless Redis holds it
    with django_assert_num_queries(3 + session_reads):
        assert signed_in.get("/portal/tickets/").status_code == 200
