"""Agent replies go to the ticket's own people; merging across accounts needs a yes."""

from __future__ import annotations

import pytest

from duplicates.models import DuplicateFlag, FlagStatus
from outbox.models import MailKind, OutgoingMail
from tests.channels_app.mail_helpers import deliver as deliver_mail
from tests.channels_app.mail_helpers import make_mail
from tickets.errors import CrossAccountMerge
from tickets.models import Channel, Status, Ticket
from tickets.services import MessageIn, message_add, ticket_merge, ticket_reply

from ..factories import AccountFactory, ContactFactory, open_ticket

pytestmark = pytest.mark.django_db


def reply_recipients(ticket: Ticket, agent) -> list[str]:
    ticket_reply(ticket=ticket, body="We are on it.", actor=agent)
    return OutgoingMail.objects.filter(kind=MailKind.AGENT_REPLY).latest("pk").to


def inbound(ticket: Ticket, sender: str, reply_to: list[str], n: int) -> None:
    """A mail that joined the ticket (as header threading put it there before issue 11)."""
    message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.EMAIL,
            body_text="thanks",
            external_id=f"in-{n}@example.org",
            metadata={"from": sender, "reply_to": reply_to, "subject": "Re: x"},
        ),
    )


def test_a_strangers_reply_to_never_gets_the_agents_answer(departments, anna, agent):
    """A mail from someone who is not a contact of the account, joined by Message-ID,
    with Reply-To pointing elsewhere: the next reply still goes to the contact."""
    deliver_mail(make_mail(sender="anna@northwind.example", subject="reseller 200417"))
    ticket = Ticket.objects.get()
    assert ticket.contact == anna
    inbound(ticket, "eve@evil.example", ["eve@evil.example"], 1)
    assert reply_recipients(ticket, agent) == ["anna@northwind.example"]


def test_a_contacts_reply_to_is_honoured(departments, anna, agent):
    ContactFactory(account=anna.account, email="ben@northwind.example", verified=True)
    deliver_mail(make_mail(sender="anna@northwind.example", subject="reseller 200417"))
    ticket = Ticket.objects.get()
    inbound(ticket, "ben@northwind.example", ["helpdesk@northwind.example"], 2)
    assert reply_recipients(ticket, agent) == ["helpdesk@northwind.example"]


def test_a_ticket_without_contact_answers_whoever_opened_it(departments, agent):
    deliver_mail(make_mail(sender="carol@example.org"))
    ticket = Ticket.objects.get()
    assert ticket.contact_id is None
    inbound(ticket, "mallory@evil.example", ["mallory@evil.example"], 3)
    assert reply_recipients(ticket, agent) == ["carol@example.org"]


def test_merging_across_accounts_needs_a_confirmation(departments, anna):
    other = ContactFactory(account=AccountFactory(name="Other Co"), email="o@other.example")
    ours = open_ticket(contact=anna, body="one")
    theirs = open_ticket(contact=other, body="two")
    with pytest.raises(CrossAccountMerge) as refused:
        ticket_merge(source=theirs, target=ours)
    assert "Confirm the merge across accounts" in refused.value.message
    theirs.refresh_from_db()
    assert theirs.status != Status.MERGED
    ticket_merge(source=theirs, target=ours, confirm_cross_account=True)
    theirs.refresh_from_db()
    assert theirs.merged_into == ours
    # Same account (or a ticket without one) needs no confirmation.
    loose = open_ticket(body="three")
    ticket_merge(source=loose, target=ours)


def test_the_duplicates_admin_asks_before_merging_across_accounts(admin, departments, anna):
    other = ContactFactory(account=AccountFactory(name="Other Co"), email="o@other.example")
    older = open_ticket(contact=anna, body="one")
    newer = open_ticket(contact=other, body="two")
    flag = DuplicateFlag.objects.create(ticket=newer, candidate=older, score=0.9, reasons=["x"])
    url = "/admin/duplicates/duplicateflag/"
    asked = admin.post(url, {"action": "merge_into_candidate", "_selected_action": [flag.pk]})
    page = asked.content.decode()
    assert asked.status_code == 200 and "different accounts" in page
    assert 'name="confirm_cross_account"' in page
    newer.refresh_from_db()
    assert newer.status != Status.MERGED  # nothing merged before the yes
    admin.post(
        url,
        {
            "action": "merge_into_candidate",
            "_selected_action": [flag.pk],
            "confirm_cross_account": "yes",
        },
    )
    newer.refresh_from_db()
    assert newer.merged_into == older
    assert DuplicateFlag.objects.get(pk=flag.pk).status == FlagStatus.MERGED
