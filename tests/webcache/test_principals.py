"""A cached ticket list is only ever replayed to the principal it was rendered for, and
only after that principal was authenticated and its permission checked (issue 11, item 1).

Each test first fills the cache with a good request, then tries the same URL as someone
who may not read it.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from api.auth import sign
from api.models import Integration
from tests.factories import AccountFactory, AgentFactory, ContactFactory, open_ticket
from tests.portal.conftest import sign_in_link
from tickets.models import Contact

# Real commits: list versions move on when a transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)
LIST = "/api/v1/tickets/"
SECRET = "s3cret-for-signing"


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.SUPPORTDESK_LIST_CACHE_SECONDS = 60


@pytest.fixture
def reader(db) -> Integration:
    return Integration.objects.create(name="crm", hmac_secret=SECRET, can_read_tickets=True)


@pytest.fixture
def pusher(db) -> Integration:
    """An integration that may push chat lines but not read tickets."""
    return Integration.objects.create(
        name="chatbot", hmac_secret="other-secret", can_push_chat=True
    )


_USED_STAMPS: set[int] = set()


def fresh_stamp() -> int:
    """A timestamp within the window that no earlier request used (a signature is good
    once, and two requests in one second would otherwise sign alike)."""
    stamp = int(time.time())
    while stamp in _USED_STAMPS:
        stamp -= 1
    _USED_STAMPS.add(stamp)
    return stamp


def signed_get(name: str, secret: str, *, stamp: int | None = None, signature: str = ""):
    stamp_text = str(stamp if stamp is not None else fresh_stamp())
    return Client().get(
        LIST,
        HTTP_X_SUPPORTDESK_INTEGRATION=name,
        HTTP_X_SUPPORTDESK_TIMESTAMP=stamp_text,
        HTTP_X_SUPPORTDESK_SIGNATURE=signature
        or sign(secret, stamp_text, b"", method="GET", path=LIST),
    )


@pytest.fixture
def filled(reader, pusher, departments, anna):
    """A good signed GET rendered the list (with Anna's ticket) into the cache (after every
    integration exists: saving one renders the lists anew)."""
    open_ticket(subject="Private matter", contact=anna)
    response = signed_get("crm", SECRET)
    assert response.status_code == 200 and "Private matter" in response.content.decode()
    # Replayed from here on (each signed request its own timestamp: a signature is good once).
    assert signed_get("crm", SECRET).content == response.content
    return response


ATTEMPTS = {
    "anonymous": lambda: Client().get(LIST),
    "bad signature": lambda: signed_get("crm", SECRET, signature="sha256=" + "0" * 64),
    "stale timestamp": lambda: signed_get("crm", SECRET, stamp=int(time.time()) - 3600),
    "unknown integration": lambda: signed_get("nobody", SECRET),
    "integration without read permission": lambda: signed_get("chatbot", "other-secret"),
}


@pytest.mark.parametrize("who", ATTEMPTS)
def test_api_list_cached_for_one_integration_is_refused_to_others(filled, who):
    response = ATTEMPTS[who]()
    assert response.status_code in (401, 403)
    assert "Private matter" not in response.content.decode()


def test_api_list_of_a_token_is_not_replayed_to_a_revoked_token(filled, reader):
    token = reader.issue_token()
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(LIST).status_code == 200
    # Revoked without the model's signals (a SQL update): the permission is still checked.
    Integration.objects.filter(pk=reader.pk).update(can_read_tickets=False)
    assert client.get(LIST).status_code == 403
    Integration.objects.filter(pk=reader.pk).update(is_active=False)
    assert client.get(LIST).status_code == 401


def test_portal_list_is_refused_once_the_contact_may_no_longer_sign_in(client, anna, departments):
    ContactFactory(
        account=AccountFactory(), name="Mallory", email="mallory@other.example", verified=True
    )
    open_ticket(subject="Private matter", contact=anna)
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    assert "Private matter" in client.get("/portal/tickets/").content.decode()

    other = Client()
    other.post("/portal/sign-in/", {"email": "mallory@other.example"})
    other.post(sign_in_link())
    assert "Private matter" not in other.get("/portal/tickets/").content.decode()
    assert Client().get("/portal/tickets/").status_code == 302

    # Verification withdrawn by a SQL update (no signal moves a cache version on): the
    # session still names Anna, but she may no longer read anything.
    Contact.objects.filter(pk=anna.pk).update(verified_at=None)
    response = client.get("/portal/tickets/")
    assert response.status_code == 302 and "/portal/sign-in/" in response["Location"]


def test_admin_list_is_refused_once_the_agent_loses_access(boss, departments, anna):
    open_ticket(subject="Private matter", contact=anna)
    agents = Client()
    agents.force_login(boss)
    assert "Private matter" in agents.get("/admin/tickets/ticket/").content.decode()
    plain = AgentFactory(username="plain")
    plain_client = Client()
    plain_client.force_login(plain)
    assert plain_client.get("/admin/tickets/ticket/").status_code == 403
    assert Client().get("/admin/tickets/ticket/").status_code == 302

    type(boss).objects.filter(pk=boss.pk).update(is_staff=False)
    response = agents.get("/admin/tickets/ticket/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_api_list_is_replayed_to_the_integration_that_filled_it(filled):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Only authentication reads and writes (the integration, the signature remembered);
    # no ticket rows are read.
    with CaptureQueriesContext(connection) as queries:
        again = signed_get("crm", SECRET)
    assert again.status_code == 200 and again.content == filled.content
    assert not [q["sql"] for q in queries if "tickets_" in q["sql"]]
    assert any("api_integration" in q["sql"] for q in queries)
