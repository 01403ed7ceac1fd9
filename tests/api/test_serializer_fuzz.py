"""Hypothesis fuzzing of the API's input (its serializers, through the real endpoints):
whatever JSON an integration sends, the answer is never a 500, and an entry answered as
accepted is stored (issue 11). Bounded: a fixed number of examples, derandomized."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from api.models import Integration
from channels_app.models import InboundRecord

pytestmark = pytest.mark.django_db
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Any JSON value: text of any code point (NUL and lone surrogates included), any number.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
# Values that broke the API once, so every run meets them.
nasty = st.sampled_from(["a\x00b", "\ud800", float("inf"), float("nan"), 10**30, "²", ""])
scalars = nasty | st.none() | st.booleans() | st.integers() | st.floats() | any_text
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = {
    "/api/v1/channels/chat/": ["id", "conversation_id", "text", "occurred_at", "direction",
                               "from_email", "agent", "department", "subject"],
    "/api/v1/channels/phone/": ["call_id", "caller", "summary", "started_at",
                                "duration_seconds", "direction", "ticket", "department"],
    "/api/v1/tickets/": ["topic", "subject", "description", "happened_at", "severity",
                         "from_email", "reseller_id", "external_id"],
}  # fmt: skip


word = st.text("abcxyz0123", min_size=1, max_size=8)
# What each entry needs to get past validation, so the rest of it is fuzzed further in.
VALID_CORE = {
    "/api/v1/channels/chat/": {"id": word, "conversation_id": word, "text": word},
    "/api/v1/channels/phone/": {
        "call_id": word,
        "summary": word,
        "caller": st.sampled_from(["+31201234567", "010 448 2299"]),
    },
    "/api/v1/tickets/": {
        "topic": st.sampled_from(["account", "technical", "abuse"]),
        "subject": word,
        "description": word,
        "from_email": st.sampled_from(["anna@northwind.example", "x@example.org"]),
    },
}


@pytest.fixture
def client(departments) -> APIClient:
    integration = Integration.objects.create(
        name="fuzz",
        can_push_chat=True,
        can_push_phone=True,
        can_read_tickets=True,
        can_open_tickets=True,
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {integration.issue_token()}")
    return api


def _body(payload: object) -> bytes:
    # json.dumps writes NaN/Infinity and lone surrogates as a careless client would.
    return json.dumps(payload).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("url", list(FIELDS))
def test_no_input_makes_a_server_error_or_loses_an_entry(client, url):
    @BOUNDED
    @given(
        payload=st.fixed_dictionaries({}, optional={name: values for name in FIELDS[url]}) | values,
        sync=st.booleans(),
    )
    def check(payload: object, sync: bool) -> None:
        response = client.generic(
            "POST", url + ("?sync=1" if sync else ""), _body(payload), "application/json"
        )
        assert response.status_code < 500, response.content
        if response.status_code in (200, 201, 202) and "record" in response.json():
            assert InboundRecord.objects.filter(pk=response.json()["record"]).exists()

    check()
