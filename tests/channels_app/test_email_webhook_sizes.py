"""Large mail through the ESP webhooks: taken whole up to the limit (25 MB attachments),
above it stored without what does not fit and answered 200, so the ESP stops retrying.
Before: anything over Django's 2.5 MB request limit was a 400 and never stored."""

from __future__ import annotations

import os

import pytest

from channels_app.email.shrink import SHRUNK_HEADER, shrink_mime
from channels_app.inbound import inbound_process
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Attachment

from .mail_helpers import make_mail
from .test_email_webhooks import anymail_settings, mailgun, postmark, sendgrid  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]
MB = 1024 * 1024
ESPS = {"mailgun": mailgun, "postmark": postmark, "sendgrid": sendgrid}


def mail_with(size: int, name: str = "scan.pdf") -> bytes:
    return make_mail(
        subject=f"Scan of {size // MB} MB",
        message_id=f"scan-{size}@example.org",
        attachments=[(name, os.urandom(size), "application/pdf")],
    )


@pytest.mark.parametrize("esp", sorted(ESPS))
@pytest.mark.parametrize("megabytes", [2, 10])
def test_mail_up_to_the_limit_is_stored_whole(client, departments, esp, megabytes):
    raw = mail_with(megabytes * MB)
    response = ESPS[esp](client, raw)
    assert response.status_code == 200, response.content[:300]
    record = InboundRecord.objects.get()
    assert SHRUNK_HEADER.encode() not in bytes(record.raw)
    done = inbound_process(record.pk)
    assert done.status == InboundStatus.PROCESSED, done.error
    attachment = Attachment.objects.get(message=done.message)
    assert attachment.filename == "scan.pdf" and attachment.size == megabytes * MB


@pytest.mark.parametrize("esp", ["mailgun", "postmark"])  # a form field, a JSON body
def test_mail_over_the_limit_is_stored_without_what_does_not_fit(
    client, departments, esp, settings
):
    raw = mail_with(30 * MB)
    assert len(raw) > settings.SUPPORTDESK_WEBHOOK_MAX_BYTES
    response = ESPS[esp](client, raw)
    assert response.status_code == 200, response.content[:300]  # the ESP stops retrying
    record = InboundRecord.objects.get()
    assert len(bytes(record.raw)) <= settings.SUPPORTDESK_WEBHOOK_MAX_BYTES
    assert record.external_id == f"scan-{30 * MB}@example.org"
    done = inbound_process(record.pk)
    assert done.status == InboundStatus.PROCESSED, done.error
    message = done.message
    assert message.ticket.subject == "Scan of 30 MB"
    assert "Attachment not stored: scan.pdf" in message.body_text
    assert not Attachment.objects.filter(filename="scan.pdf").exists()


def test_a_stranger_cannot_make_the_desk_read_a_large_body(client, departments):
    response = mailgun(client, mail_with(3 * MB), secret="hook-user:wrong")
    assert response.status_code == 401
    assert not InboundRecord.objects.exists()


def test_a_body_past_the_hard_limit_is_not_read(client, departments, settings):
    settings.SUPPORTDESK_WEBHOOK_MAX_BYTES = MB
    response = postmark(client, mail_with(3 * MB))
    assert response.status_code == 413
    assert not InboundRecord.objects.exists()


def test_shrinking_keeps_the_text_and_the_attachments_that_fit():
    raw = make_mail(
        body="Please see both files.",
        attachments=[
            ("big.bin", b"B" * 3 * MB, "application/octet-stream"),
            ("small.txt", b"small file", "text/plain"),
        ],
    )
    shrunk = shrink_mime(raw, 2 * MB)
    assert len(shrunk.raw) <= 2 * MB and not shrunk.cut
    assert [name for name, _ in shrunk.removed] == ["big.bin"]
    assert b"Please see both files." in shrunk.raw and b"small.txt" in shrunk.raw
    assert shrink_mime(raw, 10 * MB).raw == raw  # a mail that fits is left as it is
