"""Files on an S3-compatible store (moto_server on loopback): written before the message
commits, downloaded only after the permission check, orphans swept after a grace age."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from supportdesk.storage import file_storage_setting
from tests.factories import AccountFactory, ContactFactory, open_ticket
from tests.portal.conftest import sign_in_link
from tickets import services
from tickets.models import Attachment, Channel, Direction
from tickets.orphans import orphan_files_remove
from tickets.services import MessageIn

pytestmark = pytest.mark.django_db


def _mail_with(ticket, name: str, content: bytes):
    return services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            body_text="see attached",
            author_contact=ticket.contact,
            attachments=[services.AttachmentIn(name, content)],
        ),
    ).message


def test_without_a_bucket_files_stay_on_the_filesystem(monkeypatch):
    monkeypatch.delenv("SUPPORTDESK_S3_BUCKET", raising=False)
    assert file_storage_setting() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    monkeypatch.setenv("SUPPORTDESK_S3_BUCKET", "desk-files")
    monkeypatch.setenv("SUPPORTDESK_S3_ENDPOINT_URL", "https://minio.internal:9000")
    s3 = file_storage_setting()
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "desk-files"
    assert s3["OPTIONS"]["endpoint_url"] == "https://minio.internal:9000"
    assert s3["OPTIONS"]["file_overwrite"] is False  # never replaces another upload's object


def test_attachment_is_in_the_bucket_before_its_message_commits(s3_storage, anna):
    ticket = open_ticket(subject="Invoice", contact=anna, body="first")
    with transaction.atomic():
        message = _mail_with(ticket, "invoice.pdf", b"%PDF-1.7 invoice")
        name = message.attachments.get().file.name
        # Still inside the transaction: the object is already stored.
        assert s3_storage.read(name) == b"%PDF-1.7 invoice"
    assert name.startswith("attachments/")


def test_portal_upload_lands_in_the_bucket_and_downloads_for_its_owner_only(
    s3_storage, client, anna, departments
):
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    ticket = open_ticket(subject="Logs", contact=anna, body="first")
    upload = SimpleUploadedFile("trace.log", b"stack trace here", content_type="text/plain")
    client.post(f"/portal/tickets/{ticket.number}/reply/", {"body": "log", "attachments": upload})
    attachment = Attachment.objects.get(filename="trace.log")
    assert s3_storage.read(attachment.file.name) == b"stack trace here"

    download = client.get(f"/portal/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"stack trace here"
    assert download["Content-Type"] == "application/octet-stream"

    client.logout()
    ContactFactory(
        account=AccountFactory(name="Other Co", reseller_id="999"),
        email="mallory@other.example",
        role="owner",
        verified=True,
    )
    client.post("/portal/sign-in/", {"email": "mallory@other.example"})
    client.post(sign_in_link())
    assert client.get(f"/portal/attachments/{attachment.pk}/").status_code == 404


def test_redirect_mode_signs_a_short_lived_url_after_the_check(s3_storage, settings, admin, anna):
    settings.SUPPORTDESK_FILES_REDIRECT = True
    ticket = open_ticket(subject="Screens", contact=anna, body="first")
    attachment = _mail_with(ticket, "page.html", b"<script>alert(1)</script>").attachments.get()

    response = admin.get(f"/desk/a/{attachment.pk}/")
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(s3_storage.endpoint) and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as fetched:  # noqa: S310 - loopback
        assert fetched.read() == b"<script>alert(1)</script>"
        # The store serves it as a download too: it never renders as HTML.
        assert fetched.headers["Content-Type"] == "application/octet-stream"
        assert fetched.headers["Content-Disposition"].startswith("attachment")
    assert "X-Amz-Expires=60&" in url  # SUPPORTDESK_FILE_URL_SECONDS: a minute

    admin.logout()
    refused = admin.get(f"/desk/a/{attachment.pk}/")
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    assert s3_storage.endpoint not in refused["Location"]


def test_orphan_sweep_removes_only_old_unreferenced_objects(s3_storage, anna):
    ticket = open_ticket(subject="Keep", contact=anna, body="first")
    kept = _mail_with(ticket, "kept.txt", b"kept").attachments.get().file.name
    with pytest.raises(RuntimeError), transaction.atomic():
        _mail_with(ticket, "lost.txt", b"rolled back")
        raise RuntimeError("the message never commits")
    orphan = next(key for key in s3_storage.keys() if key.endswith("lost.txt"))

    assert orphan_files_remove(grace=timedelta(hours=1)) == 0  # too young: maybe in flight
    assert orphan in s3_storage.keys()
    assert orphan_files_remove(grace=timedelta(0)) == 1
    assert s3_storage.keys() == [kept]


def test_orphan_sweep_on_the_filesystem(settings, tmp_path, anna):
    settings.MEDIA_ROOT = tmp_path
    storage = FileSystemStorage(location=tmp_path)
    ticket = open_ticket(subject="Keep", contact=anna, body="first")
    kept = _mail_with(ticket, "kept.txt", b"kept").attachments.get().file.name
    stray = storage.save("attachments/ab/abcdef/stray.txt", ContentFile(b"stray"))
    assert orphan_files_remove(grace=timedelta(0), storage=storage) == 1
    assert not storage.exists(stray) and storage.exists(kept)
