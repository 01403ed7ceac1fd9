"""The API ticket list served from the list cache (webcache/list_cache.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import open_ticket

# Real commits: lists move on when a transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.SUPPORTDESK_LIST_CACHE_SECONDS = 60


def test_api_list_replays_only_for_the_same_valid_token(api, integration, departments):
    open_ticket(subject="Via API")
    assert api.get("/api/v1/tickets/").json()["results"][0]["subject"] == "Via API"
    assert api.get("/api/v1/tickets/").status_code == 200

    stranger = Client(HTTP_AUTHORIZATION="Token not-a-token")
    assert stranger.get("/api/v1/tickets/").status_code == 401

    integration.is_active = False
    integration.save()
    assert api.get("/api/v1/tickets/").status_code in (401, 403)
