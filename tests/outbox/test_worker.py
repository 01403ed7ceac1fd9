"""End to end with a real worker process and a real SMTP server: the web request never
waits on the mail server, and the worker delivers once the server is back."""

from __future__ import annotations

import re

import pytest

from outbox.models import MailKind, MailStatus, OutgoingMail
from outbox.tasks import send_mails
from tickets.models import Ticket

from ..processes import start_worker, wait_until
from .conftest import smtp_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def status(mail: OutgoingMail) -> OutgoingMail:
    return OutgoingMail.objects.get(pk=mail.pk)


def test_portal_answers_while_the_mail_server_is_down_and_the_worker_sends_later(
    smtp_settings, mail_server, client, anna, departments
):
    """Sign-in link and submission confirmation: the requests answer as usual (this
    process would reach the dead server if it sent inline), the mails wait in the
    outbox, and the worker delivers them once the server answers."""
    assert client.post("/portal/sign-in/", {"email": "anna@northwind.example"}).status_code == 200
    link_mail = OutgoingMail.objects.get(kind=MailKind.MAGIC_LINK)
    client.post(re.search(r"(/portal/sign-in/[^/\s]+/)", link_mail.body_text).group(1))
    response = client.post(
        "/portal/tickets/new/",
        {
            "topic": "technical",
            "subject": "Transfer of example.nl fails",
            "description": "Error 500 when I click transfer",
            "severity": "3",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/tickets/{ticket.number}/submitted/"
    confirmation = OutgoingMail.objects.get(kind=MailKind.SUBMISSION)
    assert confirmation.ticket == ticket and confirmation.to == ["anna@northwind.example"]
    assert confirmation.status == MailStatus.PENDING
    worker = start_worker(**smtp_env(mail_server))
    try:
        wait_until(
            lambda: "ConnectionRefusedError" in status(confirmation).error,
            60,
            "the worker to try the mail server and find it down",
            worker,
        )
        assert status(confirmation).status == MailStatus.PENDING
        mail_server.start()
        wait_until(
            lambda: (
                status(confirmation).status == MailStatus.SENT
                and status(link_mail).status == MailStatus.SENT
            ),
            60,
            "the worker to send both mails once the server is back",
            worker,
        )
    finally:
        worker.stop()
    assert sorted(mail_server.subjects()) == sorted(
        [
            "Your SupportDesk sign-in link",
            f"[{ticket.reference}] We received your request: Transfer of example.nl fails",
        ]
    )
    assert status(confirmation).attempts >= 2


def test_a_worker_sends_unqueued_mail_as_it_starts_and_a_task_run_twice_sends_once(
    smtp_settings, mail_server, departments
):
    """A mail whose task never reached the broker is sent by the worker as it starts; a
    task delivered twice sends once; a rejected mail fails alone."""
    mail_server.start()
    mail_server.rejected = {"gone@example.org"}

    def stored(subject: str, to: str) -> OutgoingMail:  # as if the broker had been down
        return OutgoingMail.objects.create(
            message_id=f"{subject.replace(' ', '-')}@desk", to=[to], to_email=to,
            subject=subject, kind=MailKind.SLA_ALERT, from_email="desk@example.com",
            body_text="x",
        )  # fmt: skip

    lost = stored("lost task", "a@example.org")
    worker = start_worker(**smtp_env(mail_server))
    try:
        wait_until(
            lambda: status(lost).status == MailStatus.SENT, 60, "the start-up re-queue", worker
        )
        twice = stored("queued twice", "b@example.org")
        rejected = stored("rejected", "gone@example.org")
        send_mails.delay([twice.pk, rejected.pk])
        send_mails.delay([twice.pk])
        wait_until(
            lambda: (
                sum("outbox.send_mails" in line and "succeeded" in line for line in worker.lines)
                >= 3
            ),
            60,
            "the worker to run every queued send task",
            worker,
        )
    finally:
        worker.stop()
    assert mail_server.subjects() == ["lost task", "queued twice"]
    assert status(twice).status == MailStatus.SENT
    assert status(rejected).status == MailStatus.FAILED and "550" in status(rejected).error
