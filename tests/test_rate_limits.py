"""Rate limits (issue 11, item 12): admin sign-in lockouts (django-axes), sign-in link
requests per address and per IP with answers that never differ, DRF throttles."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from api.models import Integration
from tests.factories import AgentFactory, ContactFactory

pytestmark = pytest.mark.django_db
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def sign_in_mails() -> int:
    """Sign-in links mailed (stored in the outbox, which sends them)."""
    from outbox.models import MailKind, OutgoingMail

    return OutgoingMail.objects.filter(kind=MailKind.MAGIC_LINK).count()


@pytest.fixture
def fresh_window(settings):
    """Counters of this test only: a key prefix nobody used before."""
    caches = {**settings.CACHES}
    default = {**caches.get("default", {})}
    default.setdefault("BACKEND", "django.core.cache.backends.locmem.LocMemCache")
    default["KEY_PREFIX"] = f"limits-{uuid.uuid4().hex[:8]}"
    if "locmem" in default["BACKEND"]:
        default["LOCATION"] = default["KEY_PREFIX"]
    settings.CACHES = {**caches, "default": default}


def test_repeated_wrong_admin_passwords_lock_the_pair_out(db, settings):
    settings.AXES_FAILURE_LIMIT = 5
    AgentFactory(username="kim", password="right-password-123")
    client = Client()
    statuses = [
        client.post("/admin/login/", {"username": "kim", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]  # the form again, then locked out
    locked = client.post("/admin/login/", {"username": "kim", "password": "right-password-123"})
    assert locked.status_code == 429
    # Kim from another address is not locked out by someone guessing from here.
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    response = elsewhere.post(
        "/admin/login/", {"username": "kim", "password": "right-password-123"}
    )
    assert response.status_code == 302


def test_sign_in_links_are_limited_per_address_with_the_same_answer(settings, fresh_window, anna):
    settings.SUPPORTDESK_SIGN_IN_PER_ADDRESS = 3
    client = Client()
    answers = set()
    for _ in range(20):
        response = client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
        assert response.status_code == 200
        answers.add(CSRF.sub(b"", response.content))
    unknown = client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    assert sign_in_mails() == 3
    assert answers == {CSRF.sub(b"", unknown.content)}  # one answer, limited or not


def test_sign_in_links_are_limited_per_ip(settings, fresh_window, reseller):
    settings.SUPPORTDESK_SIGN_IN_PER_IP = 5
    for n in range(7):
        ContactFactory(account=reseller, email=f"c{n}@northwind.example", verified=True)
    client = Client()
    for n in range(7):
        assert (
            client.post("/portal/sign-in/", {"email": f"c{n}@northwind.example"}).status_code == 200
        )
    assert sign_in_mails() == 5
    # Another address (a proxy's client) still gets its link.
    other = Client(REMOTE_ADDR="198.51.100.4")
    other.post("/portal/sign-in/", {"email": "c6@northwind.example"})
    assert sign_in_mails() == 6


def test_api_requests_are_throttled_per_integration(settings, fresh_window, departments):
    settings.SUPPORTDESK_API_RATE = "3/min"
    clients = []
    for name in ("crm", "pbx"):
        integration = Integration.objects.create(name=name, can_read_tickets=True)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
        clients.append(client)
    crm, pbx = clients
    assert [crm.get("/api/v1/tickets/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = crm.get("/api/v1/tickets/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert pbx.get("/api/v1/tickets/").status_code == 200  # its own budget


def test_unauthenticated_api_calls_are_throttled_per_address(settings, fresh_window):
    settings.SUPPORTDESK_API_ANON_RATE = "2/min"
    client = APIClient()
    assert [client.get("/api/schema/").status_code for _ in range(2)] == [200, 200]
    assert client.get("/api/schema/").status_code == 429


def test_behind_a_proxy_the_address_it_saw_counts_not_what_the_client_sent(settings):
    from django.test import RequestFactory

    from supportdesk.client_ip import client_ip

    settings.SUPPORTDESK_TRUSTED_PROXIES = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    assert client_ip(request) == "203.0.113.9"  # the proxy's entry; the left one is forged
    settings.SUPPORTDESK_TRUSTED_PROXIES = 0
    assert client_ip(request) == "10.0.0.2"
