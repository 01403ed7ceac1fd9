"""One attachment policy for every channel: the portal refuses what email leaves out,
and the ticket services refuse it for any channel."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tickets.attachment_policy import attachment_refusal
from tickets.errors import InvalidInput
from tickets.models import Attachment, Channel, Ticket
from tickets.services import AttachmentIn, MessageIn, ticket_open

pytestmark = pytest.mark.django_db


def pe_file() -> bytes:
    """The start of a Windows program: "MZ", the PE offset at 0x3C, "PE\\0\\0" there."""
    head = bytearray(b"MZ" + b"\0" * 0x3E)
    head[0x3C:0x40] = (0x40).to_bytes(4, "little")
    return bytes(head) + b"PE\0\0" + b"\0" * 200


def submit(client, upload):
    return client.post(
        "/portal/tickets/new/",
        {
            "topic": "technical",
            "subject": "Installer crashes",
            "description": "See the file",
            "severity": "3",
            "attachments": upload,
        },
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("setup.exe", b"anything", "application/octet-stream"),
        ("invoice.pdf.exe", b"%PDF", "application/pdf"),
        ("run.EXE. ", b"x", "application/octet-stream"),
        ("invoice.pdf", pe_file(), "application/pdf"),  # a program under another name
        ("tool.bin", b"x", "application/x-msdownload"),
    ],
)
def test_the_portal_refuses_what_email_leaves_out(
    signed_in, departments, name, content, content_type
):
    response = submit(signed_in, SimpleUploadedFile(name, content, content_type=content_type))
    assert response.status_code == 200  # the form again, with the reason
    assert "not accepted" in response.content.decode()
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


def test_the_portal_and_email_share_one_size_limit(signed_in, departments, settings):
    settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES = 1000
    too_big = SimpleUploadedFile("log.txt", b"x" * 1001, content_type="text/plain")
    response = submit(signed_in, too_big)
    assert "larger than the" in response.content.decode() and not Ticket.objects.exists()
    fits = SimpleUploadedFile("log.txt", b"x" * 1000, content_type="text/plain")
    assert submit(signed_in, fits).status_code == 302
    assert Attachment.objects.get().filename == "log.txt"


@pytest.mark.parametrize("channel", [Channel.CHAT, Channel.API, Channel.PORTAL, Channel.EMAIL])
def test_the_ticket_services_refuse_a_blocked_file_on_any_channel(departments, channel):
    with pytest.raises(InvalidInput) as refused:
        ticket_open(
            subject="Here is the tool",
            department=departments["customer-support"],
            message=MessageIn(
                channel=channel,
                body_text="see attachment",
                attachments=(AttachmentIn(filename="tool.exe", content=b"MZ"),),
            ),
        )
    assert refused.value.field == "attachments" and "tool.exe" in refused.value.detail
    assert not Ticket.objects.exists()


def test_a_text_that_starts_with_mz_is_not_a_program():
    notes = b"MZ is the start of my notes, nothing more. " * 5  # longer than a PE header
    assert (
        attachment_refusal(
            filename="notes.txt", content_type="text/plain", size=len(notes), head=notes
        )
        is None
    )
    assert attachment_refusal(filename="screen.png", content_type="image/png", size=10) is None
