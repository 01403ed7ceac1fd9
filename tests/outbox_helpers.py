"""Run the outbox's send step in-process, as a worker would (tests without a worker)."""

from __future__ import annotations

from django.core import mail

from outbox.models import MailStatus, OutgoingMail
from outbox.sending import mails_send


def deliver() -> list[mail.EmailMessage]:
    """Send every mail waiting in the outbox through the test mail backend; return
    ``mail.outbox`` (everything the backend has received in this test)."""
    mails_send(
        list(OutgoingMail.objects.filter(status=MailStatus.PENDING).values_list("pk", flat=True))
    )
    return mail.outbox
