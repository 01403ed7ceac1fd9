"""An agent confirms the sender of a ticket marked *needs verification*."""

from __future__ import annotations

import pytest
from django.urls import reverse

from channels_app.models import InboundStatus
from outbox.models import MailKind, OutgoingMail
from tests.channels_app.mail_helpers import deliver, make_mail
from tickets.errors import InvalidInput
from tickets.models import ContactRole, EventKind, Ticket, TicketEvent
from tickets.services import ticket_sender_verify

from ..factories import open_ticket

pytestmark = pytest.mark.django_db

STRANGER = "Bob Stranger <Bob@Random.example>"


def flagged_ticket(subject: str = "Reseller ID 200417: move domains") -> Ticket:
    record = deliver(make_mail(subject=subject, sender=STRANGER))
    assert record.status == InboundStatus.PROCESSED, record.error
    return Ticket.objects.get(pk=record.message.ticket_id)


def test_verifying_adds_the_sender_as_a_verified_contact_and_clears_the_flag(
    departments, anna, agent
):
    ticket = flagged_ticket()
    assert ticket.needs_verification and ticket.contact_id is None
    done = ticket_sender_verify(ticket=ticket, actor=agent)
    assert not done.needs_verification
    contact = done.contact
    assert contact.account_id == anna.account_id and contact.is_verified
    assert contact.role == ContactRole.AUTHORIZED and contact.name == "Bob Stranger"
    assert list(contact.emails.values_list("email", flat=True)) == ["bob@random.example"]
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.SENDER_VERIFIED)
    assert event.actor_id == agent.pk and event.data["email"] == "bob@random.example"
    # The next mail from that address is trusted: an acknowledgement, no verification.
    second = Ticket.objects.get(
        pk=deliver(make_mail(subject="200417 again", sender=STRANGER)).message.ticket_id
    )
    assert second.contact_id == contact.pk and not second.needs_verification
    assert OutgoingMail.objects.get(ticket=second).kind == MailKind.AUTO_REPLY


def test_an_unverified_contact_already_on_the_ticket_is_verified(departments, anna, agent):
    from tests.factories import ContactFactory

    pending = ContactFactory(
        account=anna.account, name="Pending", email="bob@random.example", verified=False
    )
    ticket = flagged_ticket()
    assert ticket.contact_id == pending.pk and ticket.needs_verification
    ticket_sender_verify(ticket=ticket, actor=agent)
    pending.refresh_from_db()
    assert pending.is_verified
    assert anna.account.contacts.count() == 2  # nobody added twice


def test_verifying_twice_changes_nothing_more(departments, anna, agent):
    ticket = flagged_ticket()
    ticket_sender_verify(ticket=ticket, actor=agent)
    ticket_sender_verify(ticket=ticket, actor=agent)
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.SENDER_VERIFIED).count() == 1


def test_a_ticket_without_an_account_cannot_be_verified(departments, agent):
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(needs_verification=True)
    with pytest.raises(InvalidInput, match="names no account"):
        ticket_sender_verify(ticket=ticket, actor=agent)


def test_the_ticket_page_offers_the_button_and_it_works(departments, anna, admin):
    ticket = flagged_ticket()
    page = admin.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert b"Sender verified" in page.content
    response = admin.post(reverse("admin:tickets_ticket_verify", args=[ticket.pk]), follow=True)
    assert b"is now a verified contact of Northwind Domains" in response.content
    assert b'id="verify-form"' not in response.content
    ticket.refresh_from_db()
    assert not ticket.needs_verification


def test_owner_approval_in_the_portal_clears_the_flag_of_that_contacts_tickets(
    departments, anna, agent
):
    """A pending contact's mail is flagged; once the account owner approves the contact,
    its live tickets are no longer marked, and other tickets keep their mark."""
    from portal.services import contact_approve
    from tests.factories import ContactFactory

    pending = ContactFactory(
        account=anna.account, name="Pending", email="bob@random.example", verified=False
    )
    ticket = flagged_ticket()
    other_mail = make_mail(subject="Reseller ID 200417: hi", sender="eve@else.example")
    other = Ticket.objects.get(pk=deliver(other_mail).message.ticket_id)
    assert ticket.contact_id == pending.pk and ticket.needs_verification
    contact_approve(owner=anna, contact=pending)
    ticket.refresh_from_db()
    other.refresh_from_db()
    assert not ticket.needs_verification and other.needs_verification
