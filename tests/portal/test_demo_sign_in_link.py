"""A demo desk whose mail goes to the console shows the portal's sign-in link on the page
(there is no mailbox to read it from); a real desk never does."""

from __future__ import annotations

import pytest

from tests.outbox_helpers import deliver

pytestmark = pytest.mark.django_db

CONSOLE = "django.core.mail.backends.console.EmailBackend"


def _ask(client, email: str = "anna@northwind.example") -> str:
    return client.post("/portal/sign-in/", {"email": email}).content.decode()


def test_the_demo_link_signs_in(client, anna, settings):
    settings.EMAIL_BACKEND = CONSOLE
    page = _ask(client)
    link = page.split('href="')[-1].split('" id="demo-sign-in-link"')[0]
    assert "/portal/sign-in/" in link
    client.post(link)
    assert client.get("/portal/tickets/").status_code == 200
    assert "Open your sign-in link" not in _ask(client, "nobody@else.example")  # none sent


def test_no_link_on_the_page_with_a_real_mail_backend_or_in_production(client, anna, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "demo-sign-in-link" not in _ask(client)
    assert len(deliver()) == 1  # the link went by mail instead
    settings.EMAIL_BACKEND = CONSOLE
    settings.PRODUCTION = True
    assert "demo-sign-in-link" not in _ask(client)
