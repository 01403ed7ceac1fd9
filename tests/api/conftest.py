from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from api.auth import sign
from api.models import Integration


@pytest.fixture
def integration(db) -> Integration:
    """A telephony + messenger integration allowed to do everything."""
    return Integration.objects.create(
        name="pbx",
        hmac_secret="s3cret-for-signing",
        can_push_chat=True,
        can_push_phone=True,
        can_read_tickets=True,
        can_open_tickets=True,
    )


@pytest.fixture
def api(integration) -> APIClient:
    """A client that sends the integration's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
    return client


def signed_post(client, url: str, payload: dict, *, secret: str, name: str = "pbx", stamp=None):
    body = json.dumps(payload).encode()
    stamp = str(stamp if stamp is not None else int(time.time()))
    path, _, query = url.partition("?")
    return client.post(
        url,
        data=body,
        content_type="application/json",
        HTTP_X_SUPPORTDESK_INTEGRATION=name,
        HTTP_X_SUPPORTDESK_TIMESTAMP=stamp,
        HTTP_X_SUPPORTDESK_SIGNATURE=sign(
            secret, stamp, body, method="POST", path=path, query=query
        ),
    )


@pytest.fixture
def signed_in_contact(anna):
    """A test client signed in to the portal as Anna (the session the magic link leaves)."""
    from django.test import Client

    client = Client()
    session = client.session
    session["portal_contact_id"] = anna.pk
    session.save()
    return client
