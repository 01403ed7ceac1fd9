from __future__ import annotations

import re

import pytest

from tests.factories import AccountFactory, ContactFactory
from tests.outbox_helpers import deliver as outbox_deliver


def sign_in_link(outbox_index: int = -1) -> str:
    """Return the sign-in path from a mail in the outbox."""
    match = re.search(
        r"https?://[^/\s]+(/portal/sign-in/[^/\s]+/)", outbox_deliver()[outbox_index].body
    )
    assert match, outbox_deliver()[outbox_index].body
    return match.group(1)


@pytest.fixture
def signed_in(client, anna):
    """A test client signed in as Anna (by the real magic link)."""
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    return client


@pytest.fixture
def bert(reseller):
    """Bert, an authorized (not owner) contact of Anna's account."""
    return ContactFactory(
        account=reseller, name="Bert", email="bert@northwind.example", verified=True
    )


@pytest.fixture
def mallory(db):
    """Mallory, a verified owner of another account."""
    return ContactFactory(
        account=AccountFactory(name="Other Co", reseller_id="999"),
        name="Mallory",
        email="mallory@other.example",
        role="owner",
        verified=True,
    )


@pytest.fixture
def chat_calendar(presets):
    """The SLA ``cet-phone-chat`` calendar chat and phone follow."""
    return presets["cet-phone-chat"]
