"""A webhook delivery is cheap: checked, stored with one statement, answered; the worker
parses it (issue 16: 200 deliveries a second on two cores)."""

from __future__ import annotations

import json

import pytest
from anymail.inbound import AnymailInboundMessage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.email.receivers import store_raw_email
from channels_app.inbound import inbound_process, inbound_store
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Channel

from .mail_helpers import make_mail
from .test_email_webhooks import ESPS, anymail_settings  # noqa: F401 - the autouse fixture

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]


def _no_parse(*args, **kwargs):
    raise AssertionError("anymail parsed the whole mail inside the request")


@pytest.mark.parametrize("esp", ["mailgun", "postmark", "sendgrid"])
def test_a_raw_mime_delivery_is_one_insert_and_no_parse(client, departments, monkeypatch, esp):
    """Was five statements (get-or-create: a select, a savepoint, the insert, its
    release) and anymail's parse of the whole MIME, per request."""
    monkeypatch.setattr(AnymailInboundMessage, "parse_raw_mime", _no_parse)
    raw = make_mail(subject=f"Cheap via {esp}", message_id=f"cheap-{esp}@example.org")
    with CaptureQueriesContext(connection) as queries:
        response = ESPS[esp](client, raw)
    assert response.status_code == 200, response.content
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    record = InboundRecord.objects.get()
    assert record.external_id == f"cheap-{esp}@example.org" and record.source == esp
    assert bytes(record.raw).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    # The ESP retries: the same record, no second one; the worker still makes the ticket.
    assert ESPS[esp](client, raw).status_code == 200
    assert InboundRecord.objects.count() == 1
    monkeypatch.undo()
    processed = inbound_process(record.pk)
    assert processed.status == InboundStatus.PROCESSED, processed.error
    assert processed.message.ticket.subject == f"Cheap via {esp}"


def test_a_raw_mime_delivery_with_a_wrong_signature_stores_nothing(client, departments):
    from .test_email_webhooks import mailgun

    assert mailgun(client, make_mail(), key="not-the-key").status_code == 400
    assert not InboundRecord.objects.exists()


def test_inbound_store_returns_the_stored_record_for_the_same_bytes(departments):
    raw = make_mail(message_id="twice@example.org")
    first, created = inbound_store(
        channel=Channel.EMAIL,
        source="mailgun",
        raw=raw,
        external_id="twice\x00@example.org",  # NUL: PostgreSQL text refuses it
        enqueue=False,
    )
    again, created_again = inbound_store(
        channel=Channel.EMAIL, source="postmark", raw=raw, enqueue=False
    )
    assert created and not created_again and again.pk == first.pk
    assert again.source == "mailgun"  # the first arrival's row, unchanged
    stored = InboundRecord.objects.get()
    assert stored.status == InboundStatus.RECEIVED and stored.attempts == 0
    assert stored.external_id == "twice@example.org" and bytes(stored.raw) == raw
    payload, made = inbound_store(channel=Channel.CHAT, source="api", payload={"text": "hi"})
    assert made and InboundRecord.objects.get(pk=payload.pk).payload == {"text": "hi"}


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_the_message_id_is_read_from_the_header_block_only(departments, newline):
    raw = newline.join(
        [
            b"From: carol@example.org",
            b"To: support@supportdesk.localhost",
            b"Subject: ids",
            b"Message-ID: <head@example.org>",
            b"",
            b"Message-ID: <body@example.org>",
            b"",
        ]
    )
    store_raw_email(raw, "mailgun")
    assert InboundRecord.objects.get().external_id == "head@example.org"


@pytest.mark.parametrize("esp", ["mailgun", "postmark", "sendgrid"])
def test_a_delivery_skips_the_browser_middleware_and_keeps_its_checks(client, departments, esp):
    """Sessions, locale, CSRF, auth, messages, axes and clickjacking were ~a quarter of a
    delivery's CPU, for a machine's post that uses none of them (issue 16's burst)."""
    from .test_email_webhooks import SECRET, mailgun

    raw = make_mail(subject=f"Direct via {esp}", message_id=f"direct-{esp}@example.org")
    response = ESPS[esp](client, raw)
    assert response.status_code == 200, response.content
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "user")
    assert "X-Frame-Options" not in response and "Content-Language" not in response
    # What every request gets still runs: the security middleware's headers.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert InboundRecord.objects.get().external_id == f"direct-{esp}@example.org"
    # The view's own checks: a wrong secret is refused, a wrong signature stores nothing.
    wrong = ESPS[esp] if esp != "mailgun" else mailgun
    assert wrong(client, raw, secret=SECRET + "x").status_code == 401
    if esp == "mailgun":
        assert mailgun(client, make_mail(message_id="x@y.org"), key="nope").status_code == 400
    assert InboundRecord.objects.count() == 1


def test_other_requests_still_go_through_the_whole_middleware_chain(client, departments):
    # A GET of a webhook URL and a POST elsewhere keep sessions, auth and the frame header.
    for response in (
        client.get("/anymail/postmark/inbound/"),
        client.post("/portal/sign-in/", {"email": "x@example.org"}),
    ):
        assert hasattr(response.wsgi_request, "user"), response.wsgi_request.path
        assert "X-Frame-Options" in response
    # No slash: not resolved here, so CommonMiddleware's redirect answers as before.
    response = client.post("/anymail/postmark/inbound")
    assert hasattr(response.wsgi_request, "session") and response.status_code == 301


def test_a_webhook_path_is_resolved_once_a_urlconf(client, departments, monkeypatch, settings):
    """Resolving walked the whole URLconf on every delivery (~0.2 ms of a ~1 ms view); a
    webhook's path is now resolved once a process and URLconf, and a URLconf without
    the webhook (a new resolver) is asked again: there the post goes down the chain."""
    from django.urls.resolvers import URLResolver

    walked: list[str] = []
    resolve = URLResolver.resolve

    def counted(self, path):
        if self.pattern.regex.pattern == "^/":  # the URLconf's root, not its includes
            walked.append(path)
        return resolve(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counted)
    for n in range(3):
        raw = make_mail(subject=f"Resolved {n}", message_id=f"resolved-{n}@example.org")
        assert ESPS["postmark"](client, raw).status_code == 200
    assert walked.count("/anymail/postmark/inbound/") <= 1
    assert InboundRecord.objects.count() == 3
    settings.ROOT_URLCONF = "tests.channels_app.urls_without_webhooks"
    response = ESPS["postmark"](client, make_mail(message_id="elsewhere@example.org"))
    assert response.status_code == 404 and hasattr(response.wsgi_request, "session")
    assert InboundRecord.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_delivery_joins_its_collection_window_after_its_answer(departments, monkeypatch):
    """Served as gunicorn serves it (the WSGI handler called, its answer read, then
    closed): the raw mail is committed before the answer, and the record joins its
    window (a Redis push; for a window's first delivery also its task's publish) only
    when the response is closed, so the ack waits for the insert alone. A retry of a
    stored mail joins nothing."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    from channels_app import windows

    from .test_email_webhooks import auth

    opened: list[int] = []
    monkeypatch.setattr(windows, "_open_window", opened.append)
    raw = make_mail(subject="Ack first", message_id="ack-first@example.org")
    payload = json.dumps({"FromFull": {"Email": "carol@example.org"}, "RawEmail": raw.decode()})

    def deliver() -> tuple[list[str], object]:
        environ = (
            RequestFactory()
            .post("/anymail/postmark/inbound/", payload, "application/json", **auth())
            .environ
        )
        status: list[str] = []
        answer = WSGIHandler()(environ, lambda line, headers, *exc: status.append(line))
        b"".join(answer)  # the answer as the server writes it to the ESP's connection
        return status, answer

    status, answer = deliver()
    assert status == ["200 OK"]
    record = InboundRecord.objects.get(external_id="ack-first@example.org")  # committed
    assert opened == []  # not before the answer has gone out
    answer.close()
    answer.close()  # a second close queues nothing more
    assert opened == [record.pk]
    status, answer = deliver()  # the ESP retries
    answer.close()
    assert status == ["200 OK"] and opened == [record.pk] and InboundRecord.objects.count() == 1
