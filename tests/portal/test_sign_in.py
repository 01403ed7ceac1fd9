"""Magic-link sign-in: neutral answers, single use, expiry."""

from __future__ import annotations

import pytest
import time_machine

from tests.factories import ContactFactory
from tests.outbox_helpers import deliver as outbox_deliver

from .conftest import sign_in_link

pytestmark = pytest.mark.django_db


def test_known_and_unknown_addresses_get_the_same_answer(client, anna):
    ContactFactory(email="pending@northwind.example", role="unverified")
    pages = [
        client.post("/portal/sign-in/", {"email": email}).content.decode().replace(email, "X")
        for email in ("anna@northwind.example", "nobody@example.com", "pending@northwind.example")
    ]
    assert pages[0] == pages[1] == pages[2]
    assert [m.to for m in outbox_deliver()] == [["anna@northwind.example"]]


def test_link_signs_in_once(client, anna):
    client.post("/portal/sign-in/", {"email": "ANNA@northwind.example"})
    link = sign_in_link()
    assert client.get(link).status_code == 200  # a prefetching mail scanner spends nothing
    assert client.post(link)["Location"] == "/portal/tickets/"
    assert client.get("/portal/tickets/").status_code == 200
    client.post("/portal/sign-out/")
    assert client.get("/portal/tickets/").status_code == 302
    assert client.post(link)["Location"] == "/portal/sign-in/"  # used already
    assert client.get("/portal/tickets/").status_code == 302


def test_link_expires(client, anna, settings):
    with time_machine.travel("2026-06-01 10:00Z"):
        client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
        link = sign_in_link()  # sent at once
    with time_machine.travel("2026-06-01 10:16Z"):
        client.post(link)
        assert client.get("/portal/tickets/").status_code == 302


def test_tampered_link_is_refused(client, anna):
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link()[:-3] + "xx/")
    assert client.get("/portal/tickets/").status_code == 302


def test_removed_contact_loses_access_at_once(signed_in, anna):
    anna.verified_at = None
    anna.save()
    assert signed_in.get("/portal/tickets/").status_code == 302
