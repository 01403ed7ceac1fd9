"""ESP inbound webhooks through django-anymail: authenticated, stored before the 2xx."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import io
import json
import time

import pytest
from django.test import Client

from channels_app.inbound import inbound_process
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Message, Ticket

from .mail_helpers import make_mail

pytestmark = [
    pytest.mark.django_db,
    # anymail warns that SendGrid is community-supported only; the webhook still works.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]
SECRET = "hook-user:hook-pass-123"
SIGNING_KEY = "mailgun-signing-key"


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "MAILGUN_API_KEY": "key-test",
    }


def auth(secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def mailgun(client: Client, raw: bytes, secret: str = SECRET, key: str = SIGNING_KEY):
    timestamp, token = str(int(time.time())), "t" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    data = {
        "body-mime": raw.decode(),
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        "recipient": "support@supportdesk.localhost",
        "sender": "carol@example.org",
    }
    return client.post("/anymail/mailgun/inbound/", data, **auth(secret))


def postmark(client: Client, raw: bytes, secret: str = SECRET):
    payload = {
        "FromFull": {"Email": "carol@example.org", "Name": "Carol"},
        "ToFull": [{"Email": "support@supportdesk.localhost", "Name": ""}],
        "Subject": "ignored: RawEmail wins",
        "MessageID": "pm-1",
        "Headers": [],
        "RawEmail": raw.decode(),
    }
    return client.post(
        "/anymail/postmark/inbound/", json.dumps(payload), "application/json", **auth(secret)
    )


def sendgrid(client: Client, raw: bytes, secret: str = SECRET):
    data = {
        "email": raw.decode(),  # the "POST the raw, full MIME message" option
        "envelope": json.dumps(
            {"to": ["support@supportdesk.localhost"], "from": "carol@example.org"}
        ),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
    }
    return client.post("/anymail/sendgrid/inbound/", data, **auth(secret))


def amazon_ses(client: Client, raw: bytes, secret: str = SECRET):
    ses_event = {
        "notificationType": "Received",
        "mail": {"source": "carol@example.org", "destination": ["support@supportdesk.localhost"]},
        "receipt": {
            "recipients": ["support@supportdesk.localhost"],
            "action": {"type": "SNS", "encoding": "BASE64", "topicArn": "arn:aws:sns:x:1:in"},
        },
        "content": base64.b64encode(raw).decode(),
    }
    sns = {
        "Type": "Notification",
        "MessageId": "sns-msg-1",
        "TopicArn": "arn:aws:sns:x:1:in",
        "Message": json.dumps(ses_event),
        "Timestamp": "2024-03-05T10:15:00.000Z",
        "SignatureVersion": "1",
        "Signature": "x",
    }
    return client.post(
        "/anymail/amazon_ses/inbound/",
        json.dumps(sns),
        "text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID="sns-msg-1",
        **auth(secret),
    )


ESPS = {"mailgun": mailgun, "postmark": postmark, "sendgrid": sendgrid, "amazon_ses": amazon_ses}
# anymail's SES views need boto3 (django-anymail[amazon-ses]) even for SNS-delivered mail.
NEEDS_BOTO3 = pytest.mark.skipif(
    importlib.util.find_spec("boto3") is None,
    reason="install django-anymail[amazon-ses] (boto3) to run the Amazon SES webhook",
)
ESP_PARAMS = [
    pytest.param(name, marks=NEEDS_BOTO3) if name == "amazon_ses" else name for name in sorted(ESPS)
]


@pytest.mark.parametrize("esp", ESP_PARAMS)
def test_webhook_stores_raw_mail_that_becomes_a_ticket(client, departments, esp):
    raw = make_mail(subject=f"Via {esp}", message_id=f"{esp}-1@example.org")
    response = ESPS[esp](client, raw)
    assert response.status_code == 200, response.content
    record = InboundRecord.objects.get()  # stored (committed) before the response
    assert (
        record.source.startswith(esp.split("_")[0]) and record.external_id == f"{esp}-1@example.org"
    )
    processed = inbound_process(record.pk)
    assert processed.status == InboundStatus.PROCESSED, processed.error
    assert processed.message.ticket.subject == f"Via {esp}"


@pytest.mark.parametrize("esp", ESP_PARAMS)
def test_wrong_webhook_secret_is_refused_and_stores_nothing(client, departments, esp):
    response = ESPS[esp](client, make_mail(), secret="hook-user:wrong")
    assert response.status_code in (400, 401, 403)
    assert not InboundRecord.objects.exists()


def test_wrong_mailgun_signature_is_refused(client, departments):
    response = mailgun(client, make_mail(), key="not-the-key")
    assert response.status_code in (400, 401, 403)
    assert not InboundRecord.objects.exists()


def test_webhook_retry_and_import_of_the_same_mail_make_one_message(client, departments, tmp_path):
    """A webhook retried by the ESP and the same mail imported from a file."""
    from django.core.management import call_command

    raw = make_mail(message_id="same-everywhere@example.org")
    assert mailgun(client, raw).status_code == 200
    assert postmark(client, raw).status_code == 200
    for record in InboundRecord.objects.all():
        inbound_process(record.pk)
    (tmp_path / "same.eml").write_bytes(raw)
    call_command("ingest_email", str(tmp_path / "same.eml"), "--sync", stdout=io.StringIO())
    assert Message.objects.filter(external_id="same-everywhere@example.org").count() == 1
    assert Ticket.objects.count() == 1


def postmark_parsed(client: Client, esp_id: str | None):
    """Postmark's default: parsed JSON, no raw MIME; this mail has no Message-ID."""
    payload = {
        "FromFull": {"Email": "carol@example.org", "Name": "Carol"},
        "ToFull": [{"Email": "support@supportdesk.localhost", "Name": ""}],
        "Subject": "Parsed, no Message-ID",
        "Date": "Tue, 05 Mar 2024 10:15:00 +0100",
        "Headers": [{"Name": "X-Mailer", "Value": "Test"}],
        "TextBody": "The DNS zone does not resolve.",
        "HtmlBody": "<p>The DNS zone does not resolve.</p>",
        "Attachments": [
            {"Name": "dig.txt", "ContentType": "text/plain", "Content": "ZGlnIG91dHB1dA=="}
        ],
    }
    if esp_id is not None:
        payload["MessageID"] = esp_id
    return client.post(
        "/anymail/postmark/inbound/", json.dumps(payload), "application/json", **auth()
    )


@pytest.mark.parametrize("esp_id", ["5d1f-postmark-uuid", None])
def test_esp_retries_of_parsed_json_without_message_id_make_one_ticket(client, departments, esp_id):
    """Each retry builds new MIME (new boundaries); before, each became a new ticket. The
    key is the ESP's own message id, or a hash of the normalised fields."""
    for _ in range(3):
        assert postmark_parsed(client, esp_id).status_code == 200
    records = list(InboundRecord.objects.all())
    for record in records:
        assert inbound_process(record.pk).status == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    message = Message.objects.get()
    assert message.ticket.subject == "Parsed, no Message-ID"
    if esp_id:
        assert message.external_id == f"postmark.{esp_id}@delivery.supportdesk.invalid"


def nested_mime(depth: int) -> bytes:
    """A mail whose text sits ``depth`` multiparts deep."""
    head = (
        b"From: carol@example.org\r\nTo: support@supportdesk.localhost\r\n"
        b"Subject: Nested\r\nMessage-ID: <nested-%d@example.org>\r\nMIME-Version: 1.0\r\n" % depth
    )
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % n for n in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nhello" + closing


@pytest.mark.parametrize("esp", ["mailgun", "postmark"])
@pytest.mark.parametrize("depth", [500, 5000])
def test_deeply_nested_mime_is_stored_raw_then_processed_or_failed_with_a_reason(
    client, departments, esp, depth
):
    """Before: a 500 (the MIME could not be re-serialised, or not parsed), never stored."""
    raw = nested_mime(depth)
    response = ESPS[esp](client, raw)
    assert response.status_code == 200
    record = InboundRecord.objects.get()
    assert bytes(record.raw) == raw  # stored as posted
    assert record.external_id == f"nested-{depth}@example.org"
    done = inbound_process(record.pk)
    if depth == 500:  # readable to 30 levels: kept, with the defect noted
        assert done.status == InboundStatus.PROCESSED, done.error
        assert "nesting deeper than 30" in " ".join(done.message.metadata["defects"])
    else:
        assert done.status == InboundStatus.FAILED
        assert "nested too deeply" in done.error


def test_a_post_anymail_cannot_parse_is_stored_as_it_came_not_a_500(client, departments):
    """Found by the fuzzer: Postmark JSON with "Attachments": null made anymail raise, a
    500 the ESP retries for ever. It is kept (failed with its reason) and answered 200."""
    body = json.dumps({"FromFull": {"Email": "carol@example.org"}, "Attachments": None})
    response = client.post("/anymail/postmark/inbound/", body, "application/json", **auth())
    assert response.status_code == 200
    record = InboundRecord.objects.get()
    assert bytes(record.raw) == body.encode()
    failed = inbound_process(record.pk)
    assert failed.status == InboundStatus.FAILED and failed.error
    # Without the webhook secret nothing is stored.
    assert client.post("/anymail/postmark/inbound/", body, "application/json").status_code == 401
    assert InboundRecord.objects.count() == 1


@pytest.mark.parametrize("body", ["0", "[]", '"text"', "null"])
def test_a_post_the_esps_own_check_cannot_read_is_a_400_not_a_500(client, departments, body):
    """Found by the fuzzer: JSON that is a bare number made anymail's Mailgun signature
    check raise, a 500. The post cannot be verified: a 400, and nothing is stored."""
    response = client.post("/anymail/mailgun/inbound/", body, "application/json", **auth())
    assert response.status_code == 400
    assert b"not a mailgun inbound webhook" in response.content
    assert InboundRecord.objects.count() == 0
