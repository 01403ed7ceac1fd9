"""Chat lines and call records pushed through the API: raw first, idempotent, one ticket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from channels_app.chat.models import ChatConversation
from channels_app.models import InboundRecord, InboundStatus
from tests.factories import ContactFactory, open_ticket
from tickets.models import Channel, Message, Ticket

from .conftest import signed_post

pytestmark = pytest.mark.django_db
CHAT, PHONE = "/api/v1/channels/chat/", "/api/v1/channels/phone/"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def line(n: int, **extra) -> dict:
    return {
        "id": f"line-{n}",
        "conversation_id": "conv-1",
        "text": f"line {n}",
        "occurred_at": (T0 + timedelta(minutes=n)).isoformat(),
        "from_email": "anna@northwind.example",
        **extra,
    }


def test_chat_line_is_stored_raw_and_queued(api, departments, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(CHAT, line(1), format="json")
    assert response.status_code == 202, response.json()
    record = InboundRecord.objects.get(pk=response.json()["record"])
    assert record.channel == Channel.CHAT and record.source == "api:pbx"
    assert record.external_id == "pbx:line-1" and record.status == InboundStatus.RECEIVED
    assert len(callbacks) == 1 and Ticket.objects.count() == 0


def test_chat_lines_of_a_conversation_share_one_ticket_in_time_order(api, departments, anna):
    for n in (2, 1, 3):  # out of order on purpose
        response = api.post(CHAT + "?sync=1", line(n), format="json")
        assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    assert ticket.contact == anna and ticket.origin_channel == Channel.CHAT
    assert [m.body_text for m in ticket.messages.order_by("occurred_at")] == [
        "line 1",
        "line 2",
        "line 3",
    ]
    assert ChatConversation.objects.get().ticket == ticket


def test_same_line_id_twice_is_one_message(api, departments):
    first = api.post(CHAT + "?sync=1", line(1), format="json")
    again = api.post(CHAT + "?sync=1", line(1), format="json")
    edited = api.post(CHAT + "?sync=1", line(1, text="edited"), format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert edited.status_code == 409  # an id is one entry: changed content is refused
    assert Message.objects.count() == 1


def test_call_matches_caller_by_normalised_number_and_appends_to_ticket(api, departments):
    bob = ContactFactory(name="Bob", phone="+31104482299", verified=True)
    ticket = open_ticket(subject="Transfer", contact=bob)
    response = api.post(
        PHONE + "?sync=1",
        {
            "call_id": "c-77",
            "caller": "010 448 2299",
            "started_at": "2026-06-01T12:00:00+02:00",
            "duration_seconds": 185,
            "summary": "Customer asked about the transfer",
            "outcome": "callback",
            "ticket": ticket.reference,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["ticket"] == ticket.reference
    call = ticket.messages.get(channel=Channel.PHONE)
    assert call.author_contact == bob and call.metadata["caller"] == "+31104482299"
    assert call.metadata["duration_seconds"] == 185 and "3:05 min" in call.body_text


def test_call_without_ticket_opens_one(api, departments):
    response = api.post(
        PHONE + "?sync=1",
        {"call_id": "c-1", "caller": "+31 20 123 4567", "summary": "Site down"},
        format="json",
    )
    assert response.status_code == 201
    assert Ticket.objects.get().subject == "Phone call from +31201234567"


def test_invalid_entries_get_field_messages_and_store_nothing(api, departments):
    response = api.post(PHONE, {"call_id": "x", "caller": "banana"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"caller", "summary"}
    response = api.post(
        CHAT,
        {"id": "1", "conversation_id": "c", "text": "hi", "direction": "outbound"},
        format="json",
    )
    assert response.status_code == 400 and "agent" in response.json()
    assert InboundRecord.objects.count() == 0


def test_processing_failure_is_422_and_kept_for_an_agent(api, departments):
    response = api.post(
        PHONE + "?sync=1",
        {"call_id": "c-9", "caller": "+31201234567", "summary": "x", "ticket": "SD-999"},
        format="json",
    )
    assert response.status_code == 422
    assert "SD-999" in response.json()["error"]
    assert InboundRecord.objects.get().status == InboundStatus.FAILED
    assert Ticket.objects.count() == 0


def test_no_credentials_is_401_and_bad_token_is_401(departments, integration):
    assert APIClient().post(CHAT, line(1), format="json").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert client.post(CHAT, line(1), format="json").status_code == 401
    assert InboundRecord.objects.count() == 0


def test_integration_without_the_scope_gets_403(api, integration, departments):
    integration.can_push_phone = False
    integration.save()
    response = api.post(
        PHONE, {"call_id": "1", "caller": "+31201234567", "summary": "x"}, format="json"
    )
    assert response.status_code == 403


def test_revoked_integration_is_401(api, integration, departments):
    integration.is_active = False
    integration.save()
    assert api.post(CHAT, line(1), format="json").status_code == 401


def test_hmac_signed_body_is_accepted(integration, departments):
    response = signed_post(APIClient(), CHAT, line(1), secret="s3cret-for-signing")
    assert response.status_code == 202, response.json()


def test_hmac_wrong_secret_or_stale_timestamp_is_401(integration, departments):
    assert signed_post(APIClient(), CHAT, line(1), secret="wrong").status_code == 401
    stale = signed_post(APIClient(), CHAT, line(1), secret="s3cret-for-signing", stamp=1000)
    assert stale.status_code == 401
    unknown = signed_post(APIClient(), CHAT, line(1), secret="s3cret-for-signing", name="who")
    assert unknown.status_code == 401
    assert InboundRecord.objects.count() == 0


def test_two_integrations_conversation_ids_are_two_chats(api, integration, departments):
    """Conversation "42" of one messenger is not conversation "42" of another."""
    from api.models import Integration

    other = Integration.objects.create(name="whatsapp-bridge", can_push_chat=True)
    other_api = APIClient()
    other_api.credentials(HTTP_AUTHORIZATION=f"Token {other.issue_token()}")
    mine = api.post(CHAT + "?sync=1", line(1, conversation_id="42"), format="json")
    theirs = other_api.post(
        CHAT + "?sync=1", line(1, conversation_id="42", text="someone else"), format="json"
    )
    assert mine.status_code == theirs.status_code == 201, (mine.json(), theirs.json())
    assert mine.json()["ticket"] != theirs.json()["ticket"]
    assert sorted(ChatConversation.objects.values_list("source", "conversation_id")) == [
        ("api:pbx", "42"),
        ("api:whatsapp-bridge", "42"),
    ]
    # Each one's next line still finds its own conversation.
    again = other_api.post(
        CHAT + "?sync=1", line(2, conversation_id="42", text="more"), format="json"
    )
    assert again.json()["ticket"] == theirs.json()["ticket"]


def _signed(client, method: str, url: str, *, body: bytes = b"", stamp: int, sign_as=None):
    """Send ``method url`` signed for ``sign_as`` (method, path, query), default itself."""
    from api.auth import sign

    signed_method, signed_url = sign_as or (method, url)
    path, _, query = signed_url.partition("?")
    signature = sign(
        "s3cret-for-signing", str(stamp), body, method=signed_method, path=path, query=query
    )
    return client.generic(
        method,
        url,
        body,
        content_type="application/json",
        HTTP_X_SUPPORTDESK_INTEGRATION="pbx",
        HTTP_X_SUPPORTDESK_TIMESTAMP=str(stamp),
        HTTP_X_SUPPORTDESK_SIGNATURE=signature,
    )


def test_a_signature_covers_method_path_and_query(integration, departments):
    import time

    now = int(time.time())
    client = APIClient()
    assert _signed(client, "GET", "/api/v1/tickets/?status=new", stamp=now).status_code == 200
    # A captured GET signature used on another URL, query or method: refused.
    for n, (method, url) in enumerate(
        [
            ("GET", "/api/v1/tickets/SD-100001/"),
            ("GET", "/api/v1/tickets/?status=open"),
            ("POST", "/api/v1/tickets/?status=new"),
        ]
    ):
        sent = _signed(
            client, method, url, stamp=now - 1 - n, sign_as=("GET", "/api/v1/tickets/?status=new")
        )
        assert sent.status_code == 401, (method, url)


def test_a_signed_request_is_accepted_once(integration, departments):
    import time

    now = int(time.time())
    body = json.dumps(line(1)).encode()
    first = _signed(APIClient(), "POST", CHAT, body=body, stamp=now)
    assert first.status_code == 202
    replay = _signed(APIClient(), "POST", CHAT, body=body, stamp=now)
    assert replay.status_code == 401 and "replay" in replay.json()["detail"]
    # The same request signed anew (its own timestamp) is fine: the line is stored once.
    again = _signed(APIClient(), "POST", CHAT, body=body, stamp=now - 1)
    assert again.status_code == 200 and again.json()["record"] == first.json()["record"]
