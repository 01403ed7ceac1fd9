"""Bad input gets a 4xx that says what is wrong, never a 500, and stores nothing
(issue 11, item 14)."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from channels_app.models import InboundRecord
from tests.factories import open_ticket
from tickets.models import Message

pytestmark = pytest.mark.django_db
CHAT, PHONE, TICKETS = "/api/v1/channels/chat/", "/api/v1/channels/phone/", "/api/v1/tickets/"


def chat_line(**extra) -> dict:
    return {"id": "l-1", "conversation_id": "c-1", "text": "Hello", **extra}


def raw_post(api, url: str, body: str):
    return api.generic("POST", url, body.encode("utf-8", "surrogatepass"), "application/json")


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "l-1", "conversation_id": "c-1", "text": "Hello", "extra": "a\\u0000b"}',
        '{"id": "l-1", "conversation_id": "c-1", "text": "Hello", "extra": "\\ud800"}',
        '{"id": "l-1", "conversation_id": "c-1", "text": "Hello", "extra": 1e999}',
        '{"id": "l-1", "conversation_id": "c-1", "text": "Hello", "extra": NaN}',
        '{"id": "l-1", "conversation_id": "c-1", "text": "Hi\\u0000", "x": 1}',
        '{"id": "l-1", "conversation_id": "c-1", "text": "Hello", "x": '
        + "[" * 5000
        + "]" * 5000
        + "}",
    ],
    ids=["nul", "lone surrogate", "1e999", "NaN", "nul in a field", "deeply nested"],
)
def test_json_the_database_cannot_store_is_a_400(api, departments, body):
    response = raw_post(api, CHAT, body)
    assert response.status_code == 400, response.content
    assert "detail" in response.json()
    assert InboundRecord.objects.count() == 0


@pytest.mark.parametrize("reference", ["%C2%B2", "SD-%C2%B2", "9" * 40, "SD-" + "9" * 25])
def test_a_reference_that_is_no_ticket_number_is_a_404(api, departments, reference):
    assert api.get(f"{TICKETS}{reference}/").status_code == 404


def test_a_cursor_with_a_bad_position_is_a_404(api, departments):
    for position in ("not-a-date", "2026-13-45T99:00:00", "2026-01-01\x00"):
        cursor = base64.b64encode(f"p={position}".encode()).decode()
        assert api.get(TICKETS, {"cursor": cursor}).status_code == 404


@pytest.mark.parametrize("param", ["contact_email", "department", "status", "updated_since"])
def test_a_nul_in_a_filter_is_a_400(api, departments, param):
    response = api.get(f"{TICKETS}?{param}=a%00b")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        (CHAT, chat_line(occurred_at="2452-01-01T10:00:00+00:00"), "occurred_at"),
        (CHAT, chat_line(occurred_at="0001-01-01T10:00:00+00:00"), "occurred_at"),
        (CHAT, chat_line(occurred_at="9999-12-31T10:00:00+00:00"), "occurred_at"),
        (PHONE, {"call_id": "c", "caller": "+31201234567", "summary": "x",
                 "started_at": "2452-01-01T10:00:00+00:00"}, "started_at"),
        (PHONE, {"call_id": "c", "caller": "+31201234567", "summary": "x",
                 "duration_seconds": 10**25}, "duration_seconds"),
        (CHAT, chat_line(department="legal-abuse"), "department"),
        (CHAT, chat_line(department="no-such-team"), "department"),
        (PHONE, {"call_id": "c", "caller": "+31201234567", "summary": "x",
                 "department": "no-such-team"}, "department"),
        (CHAT, chat_line(direction="outbound", agent="nobody"), "agent"),
    ],
    ids=["year 2452", "year 1", "year 9999", "call in 2452", "25-digit call", "legal chat",
         "unknown department", "unknown call department", "unknown agent"],
)  # fmt: skip
def test_entries_processing_would_refuse_are_refused_at_once(api, departments, url, payload, field):
    """Answered 400 when sent, not 202 and then a failed record (or a broken SLA clock)."""
    response = api.post(url, payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert InboundRecord.objects.count() == 0


def test_a_chat_id_sent_again_with_other_text_is_a_conflict(api, departments):
    assert api.post(CHAT + "?sync=1", chat_line(), format="json").status_code == 201
    assert api.post(CHAT + "?sync=1", chat_line(), format="json").status_code == 200
    changed = api.post(CHAT + "?sync=1", chat_line(text="Something else"), format="json")
    assert changed.status_code == 409 and "id" in changed.json()
    assert list(Message.objects.values_list("body_text", flat=True)) == ["Hello"]


def test_api_server_errors_are_json(rf):
    from supportdesk import urls
    from supportdesk.errors import server_error

    assert urls.handler500 == "supportdesk.errors.server_error"
    response = server_error(rf.get("/api/v1/tickets/"))
    assert response.status_code == 500 and json.loads(response.content)["detail"]
    assert server_error(rf.get("/portal/")).status_code == 500


def test_a_nul_in_a_portal_url_is_a_400(signed_in_contact):
    response = signed_in_contact.get("/portal/chat/%00/lines.json")
    assert response.status_code == 400


def test_admin_search_for_a_unicode_digit_is_no_error(admin, departments):
    open_ticket(subject="Anything")
    assert admin.get("/admin/tickets/ticket/", {"q": "²"}).status_code == 200
    assert admin.get("/admin/tickets/ticket/", {"q": "SD-²"}).status_code == 200


def test_the_debug_page_is_never_shown_to_customers(settings, signed_in_contact, monkeypatch):
    """Demo mode runs with DEBUG on: a crash shows customers the plain error page, never
    Django's debug page with the settings (only signed-in staff get that)."""
    from portal import views

    settings.DEBUG = True

    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "status_context", crash)  # a bug in the home page
    signed_in_contact.raise_request_exception = False
    response = signed_in_contact.get("/portal/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "DATABASE" not in body and "Traceback" not in body and "a bug" not in body


def test_schema_documents_the_error_statuses_and_refuses_blank_text(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    document = json.loads(schema.content) if schema.content.startswith(b"{") else None
    if document is None:
        import yaml

        document = yaml.safe_load(schema.content)
    chat = document["paths"][CHAT]["post"]["responses"]
    assert {"400", "401", "403", "409", "415", "422", "429"} <= set(chat)
    assert {"401", "403", "404"} <= set(
        document["paths"][TICKETS + "{reference}/"]["get"]["responses"]
    )
    text = document["components"]["schemas"]["ChatLineIn"]["properties"]["text"]
    assert text["minLength"] == 1
    statuses = [p for p in document["paths"][TICKETS]["get"]["parameters"] if p["name"] == "status"]
    assert "enum" in statuses[0]["schema"]
