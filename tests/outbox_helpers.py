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


def deliver_from_another_thread() -> list[mail.EmailMessage]:
    """``deliver`` for browser tests: Playwright's event loop runs in the test's thread,
    where Django refuses database calls, so a worker thread sends (as a worker would)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run() -> list[mail.EmailMessage]:
        try:
            return deliver()
        finally:
            connection.close()  # the thread's own connection, or the test database stays busy

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
