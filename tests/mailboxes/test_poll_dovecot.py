"""Polling a real IMAP server (dovecot): what is read, stored, moved, and never lost."""

from __future__ import annotations

import pytest

from channels_app.inbound import inbound_process_many
from channels_app.models import InboundRecord, InboundStatus
from mailboxes.models import Mailbox, MailboxMessage
from mailboxes.poll import poll_mailbox
from tickets.models import Ticket

from ..channels_app.mail_helpers import make_mail
from .conftest import make_mailbox

pytestmark = pytest.mark.django_db


def _process_all() -> None:
    inbound_process_many(list(InboundRecord.objects.values_list("pk", flat=True)))


def test_mail_read_in_another_client_is_still_imported(dovecot, departments):
    """The old poll asked for UNSEEN mail only: 10 mails read elsewhere were 10 lost."""
    mailbox = make_mailbox(dovecot, departments)
    assert poll_mailbox(mailbox.pk).error == ""  # the first poll sets the high-water mark
    for n in range(10):
        dovecot.deliver(mailbox.username, make_mail(subject=f"read elsewhere {n}"), flags=r"(\Seen)")
    report = poll_mailbox(mailbox.pk)
    assert (report.stored, report.error) == (10, "")
    assert InboundRecord.objects.filter(source=f"imap:{mailbox.name}").count() == 10
    _process_all()
    assert Ticket.objects.count() == 10


def test_each_poll_reads_only_above_the_high_water_mark(dovecot, departments):
    mailbox = make_mailbox(dovecot, departments)
    for n in range(3):
        dovecot.deliver(mailbox.username, make_mail(subject=f"first {n}"))
    first = poll_mailbox(mailbox.pk)
    assert (first.stored, first.seen) == (3, 3)
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity and mailbox.last_uid == 3
    dovecot.deliver(mailbox.username, make_mail(subject="second"))
    second = poll_mailbox(mailbox.pk, reconcile=False)
    assert (second.stored, second.seen) == (1, 1)
    assert dovecot.count(mailbox.username, criterion="UNSEEN") == 0  # marked read once stored
    third = poll_mailbox(mailbox.pk, reconcile=True)
    assert (third.stored, third.seen, third.backfilled) == (0, 0, 0)
    mailbox.refresh_from_db()
    assert mailbox.last_success_at is not None and mailbox.last_error == ""
    assert MailboxMessage.objects.filter(mailbox=mailbox).count() == 4


def test_password_is_encrypted_at_rest(dovecot, departments):
    mailbox = make_mailbox(dovecot, departments)
    password = dovecot.passwords[mailbox.username]
    stored = Mailbox.objects.values_list("password_encrypted", flat=True).get(pk=mailbox.pk)
    assert password not in stored and stored
    assert Mailbox.objects.get(pk=mailbox.pk).password() == password
