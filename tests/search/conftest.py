"""Actors of the search tests: tickets written the way channels write them."""

from __future__ import annotations

import pytest

from tests.factories import AccountFactory, ContactFactory, open_ticket
from tickets.services import MessageIn, message_add


def reply(ticket, text: str, *, contact=None, channel: str = "email", **message):
    """Append a customer's message to ``ticket`` through the service."""
    return message_add(
        ticket=ticket,
        message=MessageIn(
            channel=channel, body_text=text, author_contact=contact or ticket.contact, **message
        ),
    ).message


@pytest.fixture(autouse=True)
def _counts_read_afresh():
    """Each test reads the vocabulary it wrote: the counts a process keeps (see
    ``search.words.kept_counts``) are forgotten between tests, as a words refresh does."""
    from search.words import forget_counts

    forget_counts()
    yield
    forget_counts()


def refs(page) -> list[str]:
    return [h.ticket.reference for h in page.hits]


@pytest.fixture
def ivan(db):
    """Ivan, a verified contact of a Moscow account, with a Moscow phone number."""
    account = AccountFactory(name="Roga i Kopyta", reseller_id="700123")
    return ContactFactory(
        account=account,
        name="Иван Петров",
        email="ivan@roga.example",
        phone="+74951234567",
        verified=True,
    )


@pytest.fixture
def stranger_ticket(departments):
    return open_ticket(subject="Unrelated", body="Nothing to see here, just cats and dogs.")
