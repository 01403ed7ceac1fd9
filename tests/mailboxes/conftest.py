"""Fixtures of the mailbox tests: a real dovecot, and Mailbox rows that point at it."""

from __future__ import annotations

import pytest

from mailboxes.models import Mailbox, Security

from ..dovecot import Dovecot, TestCA


@pytest.fixture(scope="session")
def test_ca() -> TestCA:
    return TestCA()


@pytest.fixture(scope="session")
def dovecot(test_ca):
    """One dovecot for the session; each test takes a user (a mailbox) of its own."""
    server = Dovecot(test_ca)
    yield server
    server.close()


@pytest.fixture
def private_dovecot(test_ca):
    """A dovecot of this test alone, which it may stop, freeze and restart."""
    server = Dovecot(test_ca)
    yield server
    server.close()


@pytest.fixture
def imap_timeout(settings):
    settings.SUPPORTDESK_IMAP_TIMEOUT_SECONDS = 3
    return 3


def make_mailbox(server: Dovecot, departments: dict, **fields) -> Mailbox:
    """A Mailbox for a new user of ``server`` (implicit TLS, the test CA trusted)."""
    user = fields.pop("user", None) or server.add_user()
    security = fields.pop("security", Security.TLS)
    port = server.imaps_port if security == Security.TLS else server.imap_port
    mailbox = Mailbox(
        name=fields.pop("name", user),
        department=departments["customer-support"],
        host=fields.pop("host", "localhost"),
        port=fields.pop("port", port),
        security=security,
        ca_certificates=server.ca.pem,
        username=user,
        **fields,
    )
    mailbox.set_password(server.passwords[user])
    mailbox.save()
    return mailbox
