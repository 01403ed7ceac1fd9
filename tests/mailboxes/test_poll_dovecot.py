"""Polling a real IMAP server (dovecot): what is read, stored, moved, and never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.inbound import inbound_process_many
from channels_app.models import InboundRecord, InboundStatus
from mailboxes.models import Mailbox, MailboxMessage
from mailboxes.poll import mailbox_poll
from tickets.models import Ticket

from ..channels_app.mail_helpers import make_mail
from .conftest import make_mailbox

pytestmark = pytest.mark.django_db


def _process_all() -> None:
    inbound_process_many(list(InboundRecord.objects.values_list("pk", flat=True)))


def test_mail_read_in_another_client_is_still_imported(dovecot, departments):
    """The old poll asked for UNSEEN mail only: 10 mails read elsewhere were 10 lost."""
    mailbox = make_mailbox(dovecot, departments)
    assert mailbox_poll(mailbox.pk).error == ""  # the first poll sets the high-water mark
    for n in range(10):
        dovecot.deliver(
            mailbox.username, make_mail(subject=f"read elsewhere {n}"), flags=r"(\Seen)"
        )
    report = mailbox_poll(mailbox.pk)
    assert (report.stored, report.error) == (10, "")
    assert InboundRecord.objects.filter(source=f"imap:{mailbox.name}").count() == 10
    _process_all()
    assert Ticket.objects.count() == 10


def test_each_poll_reads_only_above_the_high_water_mark(dovecot, departments):
    mailbox = make_mailbox(dovecot, departments)
    for n in range(3):
        dovecot.deliver(mailbox.username, make_mail(subject=f"first {n}"))
    first = mailbox_poll(mailbox.pk)
    assert (first.stored, first.seen) == (3, 3)
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity and mailbox.last_uid == 3
    dovecot.deliver(mailbox.username, make_mail(subject="second"))
    second = mailbox_poll(mailbox.pk, reconcile=False)
    assert (second.stored, second.seen) == (1, 1)
    assert dovecot.count(mailbox.username, criterion="UNSEEN") == 0  # marked read once stored
    third = mailbox_poll(mailbox.pk, reconcile=True)
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


def test_starttls_works_and_plain_text_is_never_used(dovecot, departments):
    mailbox = make_mailbox(dovecot, departments, security="starttls")
    dovecot.deliver(mailbox.username, make_mail(subject="over starttls"))
    assert mailbox_poll(mailbox.pk).stored == 1


@pytest.mark.parametrize("kind", ["wrong name", "self-signed"])
def test_a_certificate_for_the_wrong_name_or_self_signed_is_refused(test_ca, departments, kind):
    from ..dovecot import Dovecot

    server = (
        Dovecot(test_ca, cert_name="imap.wrong.example")
        if kind == "wrong name"
        else Dovecot(test_ca, self_signed=True)
    )
    try:
        mailbox = make_mailbox(server, departments)
        server.deliver(mailbox.username, make_mail()) if kind == "self-signed" else None
        report = mailbox_poll(mailbox.pk)
        assert "certificate" in report.error and report.stored == 0
        mailbox.refresh_from_db()
        assert "certificate" in mailbox.last_error and mailbox.last_success_at is None
        assert mailbox.error_streak == 1
        assert InboundRecord.objects.count() == 0
    finally:
        server.close()


def test_a_20_mb_mail_is_stored_whole(dovecot, departments):
    mailbox = make_mailbox(dovecot, departments)
    big = make_mail(
        subject="logs attached",
        attachments=[("logs.bin", bytes(range(256)) * (20 * 4096), "application/octet-stream")],
    )
    assert len(big) > 20 * 1024 * 1024
    dovecot.deliver(mailbox.username, big)
    dovecot.deliver(mailbox.username, make_mail(subject="after the big one"))
    report = mailbox_poll(mailbox.pk)
    assert (report.stored, report.error) == (2, "")
    stored = bytes(InboundRecord.objects.order_by("pk").first().raw)
    assert stored.replace(b"\r\n", b"\n") == big.replace(b"\r\n", b"\n")


def test_a_missing_move_folder_is_shown_and_blocks_no_new_mail(dovecot, departments):
    """The old poll searched the first 200 mails, unmovable ones included: with a typo
    in the move folder the same mails came back on every poll and new mail never did."""
    mailbox = make_mailbox(dovecot, departments, move_to="Processed")
    user = mailbox.username
    for n in range(3):
        dovecot.deliver(user, make_mail(subject=f"before the fix {n}"))
    first = mailbox_poll(mailbox.pk)
    assert first.stored == 3 and "'Processed' does not exist" in first.move_error
    mailbox.refresh_from_db()
    assert "does not exist" in mailbox.move_error and mailbox.last_success_at is not None
    dovecot.deliver(user, make_mail(subject="new mail meanwhile"))
    second = mailbox_poll(mailbox.pk, reconcile=False)
    assert (second.seen, second.stored) == (1, 1)  # only the new one is read
    dovecot.create_folder(user, "Processed")
    third = mailbox_poll(mailbox.pk, reconcile=False)
    assert third.move_error == "" and third.moved == 4
    assert (dovecot.count(user), dovecot.count(user, "Processed")) == (0, 4)
    mailbox.refresh_from_db()
    assert (mailbox.move_error, mailbox.error_streak) == ("", 0)
    assert InboundRecord.objects.count() == 4


@pytest.mark.parametrize("capabilities", ["", "IMAP4rev1 UIDPLUS"], ids=["MOVE", "COPY+UIDPLUS"])
def test_moving_never_expunges_mail_another_client_only_flagged_deleted(
    test_ca, departments, capabilities
):
    """MOVE is announced only after login; the old poll read capabilities before it and
    fell back to COPY + a plain EXPUNGE, which also removed another client's mail that
    was only flagged deleted. Without MOVE the fallback expunges exactly our UIDs."""
    from ..dovecot import Dovecot

    server = Dovecot(test_ca, capabilities=capabilities)
    try:
        mailbox = make_mailbox(server, departments, move_to="Processed")
        user = mailbox.username
        server.create_folder(user, "Processed")
        # Older than the mailbox's backfill window: never the desk's to read or move.
        old = timezone.now() - timedelta(days=30)
        server.deliver(user, make_mail(subject="draft"), flags=r"(\Deleted)", arrived=old)
        assert mailbox_poll(mailbox.pk).seen == 0
        for n in range(3):
            server.deliver(user, make_mail(subject=f"to the desk {n}"))
        report = mailbox_poll(mailbox.pk, reconcile=False)
        assert (report.stored, report.moved, report.move_error) == (3, 3, "")
        assert server.count(user, "Processed") == 3
        assert server.count(user) == 1  # the other client's flagged mail is still there
    finally:
        server.close()


def _without_message_id(subject: str) -> bytes:
    return (
        f"From: Dave <dave@example.org>\r\nTo: support@supportdesk.localhost\r\n"
        f"Subject: {subject}\r\nDate: Tue, 05 Mar 2024 10:15:00 +0100\r\n\r\n"
        f"No Message-ID here.\r\n"
    ).encode()


def test_a_changed_uidvalidity_resyncs_without_doubles(private_dovecot, departments):
    """The server renumbers the folder and hands out mails without a Message-ID with
    other bytes (LF line ends, a header of its own): each is linked, not stored again.
    Before, those came back as new tickets."""
    server = private_dovecot
    mailbox = make_mailbox(server, departments)
    user = mailbox.username
    for n in range(3):
        server.deliver(user, make_mail(subject=f"with id {n}"))
    for n in range(2):
        server.deliver(user, _without_message_id(f"without id {n}"))
    assert mailbox_poll(mailbox.pk).stored == 5
    before = Mailbox.objects.get(pk=mailbox.pk).uidvalidity

    def rewrite(raw: bytes) -> bytes:
        return b"X-Restored-By: backup\n" + raw.replace(b"\r\n", b"\n")

    server.renumber(user, rewrite=rewrite)
    server.deliver(user, make_mail(subject="new after the restore"))
    report = mailbox_poll(mailbox.pk)
    assert report.resynced and (report.stored, report.duplicates) == (1, 5)
    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != before
    assert InboundRecord.objects.count() == 6
    _process_all()
    assert Ticket.objects.count() == 6


def test_a_connection_dropped_mid_fetch_stops_the_poll_and_loses_nothing(dovecot, departments):
    """The old loop went on trying every remaining mail on the dead socket."""
    from ..tcp_proxy import TcpProxy

    mailbox = make_mailbox(dovecot, departments)
    user = mailbox.username
    mailbox_poll(mailbox.pk)
    for n in range(3):
        dovecot.deliver(user, make_mail(subject=f"small {n}"))
    dovecot.deliver(user, make_mail(attachments=[("a.bin", b"x" * 3_000_000, "application/x-a")]))
    for n in range(3):
        dovecot.deliver(user, make_mail(subject=f"after {n}"))
    proxy = TcpProxy(dovecot.imaps_port, cut_after=1_000_000)
    try:
        Mailbox.objects.filter(pk=mailbox.pk).update(port=proxy.port)
        cut = mailbox_poll(mailbox.pk, reconcile=False)
    finally:
        proxy.close()
    assert proxy.cuts == 1 and cut.stored == 3
    assert "connection was lost" in cut.error and cut.failed_mails == []
    Mailbox.objects.filter(pk=mailbox.pk).update(port=dovecot.imaps_port)
    again = mailbox_poll(mailbox.pk, reconcile=False)
    assert (again.stored, again.error) == (4, "")
    assert InboundRecord.objects.count() == 7


@pytest.mark.django_db(transaction=True)
def test_a_server_that_stops_answering_times_out(private_dovecot, departments, imap_timeout):
    """A frozen server (SIGSTOP) used to hold the poll until Celery killed it at 300 s."""
    import threading

    server = private_dovecot
    mailbox = make_mailbox(server, departments)
    server.deliver(mailbox.username, make_mail())
    assert mailbox_poll(mailbox.pk).stored == 1
    server.freeze()
    outcome: list = []
    try:
        poller = threading.Thread(target=lambda: outcome.append(mailbox_poll(mailbox.pk)))
        poller.start()
        poller.join(120)  # a guard against a hang, not a timing assertion
        assert not poller.is_alive()
    finally:
        server.thaw()
    assert "stopped answering" in outcome[0].error
    mailbox.refresh_from_db()
    assert mailbox.locked_until is None and "stopped answering" in mailbox.last_error
    server.deliver(mailbox.username, make_mail(subject="after the thaw"))
    assert mailbox_poll(mailbox.pk).stored == 1


@pytest.mark.django_db(transaction=True)
def test_two_polls_at_once_store_and_move_each_mail_once(dovecot, departments):
    """The old polls overlapped: every mail was downloaded twice, and the move folder
    held 83 copies of 60 mails. The second poll now finds the mailbox held."""
    import threading

    from ..tcp_proxy import TcpProxy

    mailbox = make_mailbox(dovecot, departments, move_to="Processed")
    user = mailbox.username
    dovecot.create_folder(user, "Processed")
    for n in range(20):
        dovecot.deliver(user, make_mail(subject=f"busy {n}"))
    slow = TcpProxy(dovecot.imaps_port, delay=0.05)  # the first poll takes a while
    Mailbox.objects.filter(pk=mailbox.pk).update(port=slow.port)
    reports: list = []
    first = threading.Thread(target=lambda: reports.append(mailbox_poll(mailbox.pk)))
    first.start()
    try:
        wait_for(lambda: Mailbox.objects.get(pk=mailbox.pk).lock_token, "the first poll's lease")
        second = mailbox_poll(mailbox.pk)
        first.join(120)
    finally:
        slow.close()
    assert second.skipped and second.stored == 0
    assert reports[0].stored == 20 and reports[0].moved == 20
    assert InboundRecord.objects.count() == 20
    assert (dovecot.count(user), dovecot.count(user, "Processed")) == (0, 20)


def test_a_mail_the_server_cannot_read_never_blocks_the_mailbox(dovecot, departments):
    """dovecot drops the connection on a mail it cannot read (here: its file unreadable).
    The polls that die on it count against that mail; after three it is passed, new mail
    flows again, and the reconciliation pass stores it once the server can read it."""
    import os

    mailbox = make_mailbox(dovecot, departments)
    user = mailbox.username
    mailbox_poll(mailbox.pk)
    for n in range(5):
        dovecot.deliver(user, make_mail(subject=f"mail {n}"))
    files = sorted((dovecot.maildir(user) / "cur").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    files += sorted((dovecot.maildir(user) / "new").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    os.chmod(files[2], 0)
    reports = [mailbox_poll(mailbox.pk, reconcile=False) for _ in range(3)]
    assert [r.stored for r in reports] == [2, 0, 0]
    assert all("connection was lost" in r.error for r in reports)
    assert "passed after 3 lost connections" in reports[2].failed_mails[0]
    dovecot.deliver(user, make_mail(subject="new mail"))
    flowing = mailbox_poll(mailbox.pk, reconcile=False)
    assert (flowing.stored, flowing.error) == (3, "")
    base = files[2].name.split(",")[0]  # dovecot renames it (new/ -> cur/, flags)
    box = dovecot.maildir(user)
    (moved,) = [p for p in (*box.glob("cur/*"), *box.glob("new/*")) if p.name.startswith(base)]
    os.chmod(moved, 0o600)
    healed = mailbox_poll(mailbox.pk, reconcile=True)
    assert (healed.backfilled, healed.error) == (1, "")
    assert InboundRecord.objects.count() == 7 - 1
    _process_all()
    assert InboundRecord.objects.filter(status=InboundStatus.PROCESSED).count() == 6


def wait_for(check, what: str) -> None:
    from ..processes import wait_until

    wait_until(check, 60, what)
