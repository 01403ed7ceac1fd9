"""The outbox sends stored mails to a real SMTP server: temporary refusals wait and are
retried, final ones end ``failed`` with the reason, and a mail is sent once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.mail.backends import locmem
from django.utils import timezone

from outbox.models import MailKind, MailStatus, OutgoingMail
from outbox.sending import mails_requeue, mails_send, retry_delay
from outbox.services import AUTO_GENERATED, FileOut, MailOut, mail_queue, mail_send_again

pytestmark = pytest.mark.django_db


def queue(to: str = "carol@example.org", **extra) -> OutgoingMail:
    fields = {
        "kind": MailKind.SUBMISSION,
        "to": [to],
        "subject": "We received your request",
        "body_text": "Your ticket number is SD-100001.",
        "headers": AUTO_GENERATED,
    } | extra
    return mail_queue(MailOut(**fields))


def reload(mail: OutgoingMail) -> OutgoingMail:
    return OutgoingMail.objects.get(pk=mail.pk)


def test_a_stored_mail_reaches_the_server_with_its_headers_and_files(smtp_settings, mail_server):
    mail_server.start()
    mail = queue(attachments=[FileOut("invoice.pdf", b"%PDF-1.4 x", "application/pdf")])
    assert mails_send([mail.pk])["sent"] == 1
    (received,) = mail_server.received
    assert received["Message-ID"] == f"<{mail.message_id}>"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["To"] == "carol@example.org"
    files = [part.get_filename() for part in received.walk() if part.get_filename()]
    assert files == ["invoice.pdf"]
    mail = reload(mail)
    assert mail.status == MailStatus.SENT and mail.sent_at and mail.attempts == 1


def test_a_temporary_refusal_waits_with_backoff_then_sends(smtp_settings, mail_server):
    mail_server.start()
    mail_server.tempfail = True
    mail = queue()
    assert mails_send([mail.pk])["retry"] == 1
    mail = reload(mail)
    assert mail.status == MailStatus.PENDING and mail.attempts == 1
    assert "451" in mail.error
    assert mail.next_attempt_at >= timezone.now() + timedelta(seconds=retry_delay(1) - 5)
    assert mails_send([mail.pk])["skipped"] == 1  # not due yet: nothing is tried
    mail_server.tempfail = False
    with time_machine.travel(mail.next_attempt_at + timedelta(seconds=1)):
        assert mails_send([mail.pk])["sent"] == 1
    assert reload(mail).status == MailStatus.SENT and reload(mail).attempts == 2
    assert len(mail_server.received) == 1


def test_a_server_that_is_down_is_a_temporary_failure(smtp_settings, mail_server):
    first, second = queue(), queue()  # the server is not started: the port refuses
    assert mails_send([first.pk, second.pk])["retry"] == 2
    first, second = reload(first), reload(second)
    assert first.status == second.status == MailStatus.PENDING
    assert "ConnectionRefusedError" in first.error
    # The rest of the batch waits for the next attempt instead of each timing out.
    assert "not tried, the server was unreachable" in second.error


def test_the_backoff_doubles_up_to_its_cap(settings):
    settings.SUPPORTDESK_OUTBOX_RETRY_BASE_SECONDS = 30
    settings.SUPPORTDESK_OUTBOX_RETRY_MAX_SECONDS = 3600
    assert [retry_delay(n) for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]


def test_a_rejected_recipient_fails_with_the_reason_and_others_still_go(smtp_settings, mail_server):
    mail_server.start()
    mail_server.rejected = {"gone@example.org"}
    bad = queue(to="gone@example.org")
    good = queue(to="carol@example.org")
    outcome = mails_send([bad.pk, good.pk])
    assert outcome == {"failed": 1, "sent": 1}
    bad = reload(bad)
    assert bad.status == MailStatus.FAILED
    assert "550" in bad.error and "No such user" in bad.error
    assert reload(good).status == MailStatus.SENT
    assert [m["To"] for m in mail_server.received] == ["carol@example.org"]
    # A failed mail is final: no later run tries it again on its own.
    assert mails_requeue(grace_seconds=0) == 0
    assert mails_send([bad.pk])["skipped"] == 1


def test_a_mail_sent_twice_goes_out_once(smtp_settings, mail_server):
    mail_server.start()
    mail = queue()
    mails_send([mail.pk])
    mails_send([mail.pk, mail.pk])
    assert len(mail_server.received) == 1


def test_a_mail_claimed_by_another_worker_is_left_to_it(smtp_settings, mail_server):
    mail_server.start()
    mail = queue()
    OutgoingMail.objects.filter(pk=mail.pk).update(
        status=MailStatus.SENDING,
        claim="other",
        claimed_until=timezone.now() + timedelta(minutes=10),
    )
    assert mails_send([mail.pk])["skipped"] == 1
    assert mail_server.received == []


def test_a_dead_workers_claim_is_handed_back_by_the_requeue(smtp_settings, mail_server):
    mail_server.start()
    mail = queue()
    OutgoingMail.objects.filter(pk=mail.pk).update(
        status=MailStatus.SENDING,
        claim="dead",
        claimed_until=timezone.now() - timedelta(seconds=1),
    )
    assert mails_requeue() == 1
    assert reload(mail).status == MailStatus.PENDING
    assert mails_send([mail.pk])["sent"] == 1


def test_requeue_takes_every_waiting_mail_in_chunks(smtp_settings):
    mails = [queue(to=f"c{n}@example.org") for n in range(7)]
    assert mails_requeue(grace_seconds=0, chunk=3) == 7
    assert {reload(m).status for m in mails} == {MailStatus.PENDING}


def test_a_mail_too_old_to_retry_ends_failed(smtp_settings, mail_server, settings):
    settings.SUPPORTDESK_OUTBOX_GIVE_UP_HOURS = 1
    mail = queue()
    OutgoingMail.objects.filter(pk=mail.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert mails_send([mail.pk])["failed"] == 1
    mail = reload(mail)
    assert mail.status == MailStatus.FAILED and mail.error.startswith("gave up after 1 attempts")
    # An agent sends it again: a fresh start, and this time the server is up.
    mail_server.start()
    assert mail_send_again(mail=mail)
    assert mails_send([mail.pk])["sent"] == 1


def test_a_sign_in_link_is_not_sent_after_it_expired_and_erased_once_sent(
    smtp_settings, mail_server
):
    mail_server.start()
    late = queue(
        kind=MailKind.MAGIC_LINK,
        sensitive=True,
        body_text="https://desk/portal/sign-in/secret/",
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    fresh = queue(
        kind=MailKind.MAGIC_LINK,
        sensitive=True,
        body_text="https://desk/portal/sign-in/secret/",
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    assert mails_send([late.pk, fresh.pk]) == {"failed": 1, "sent": 1}
    assert reload(late).error == "expired before it could be sent"
    assert "secret" in mail_server.received[0].get_payload()
    assert "secret" not in reload(fresh).body_text


def test_nothing_is_sent_when_the_change_is_rolled_back(smtp_settings, mail_server):
    from django.db import transaction

    mail_server.start()
    with pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError("the change that caused the mail failed")
    assert not OutgoingMail.objects.exists()


def test_a_batch_is_claimed_and_read_in_three_statements(smtp_settings, mail_server):
    """Issue 16 (the acknowledgements of an import): one claim, one read of the rows and
    one of their files for the whole batch, then one outcome write per mail as it goes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mail_server.start()

    def statements(count: int) -> int:
        ids = [queue(to=f"c{count}-{n}@example.org").pk for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            assert mails_send(ids)["sent"] == count
        return len(captured)

    assert statements(6) - statements(2) == 4  # the four more mails' outcomes, no more


def test_mails_a_stopped_batch_never_tried_are_handed_back(smtp_settings, mail_server):
    """A send task out of time: the mail being sent waits for its retry, the ones after
    it are pending again with no attempt counted (not held until their lease ends).

    The time limit arrives as it does in a Celery worker (billiard's soft limit is a
    signal whose handler raises SoftTimeLimitExceeded), while a real SMTP server sits
    on the first mail's DATA."""
    import signal

    from celery.exceptions import SoftTimeLimitExceeded

    def out_of_time(signum, frame):
        raise SoftTimeLimitExceeded()

    mail_server.stall = 5.0
    mail_server.start()
    first, second, third = queue(), queue(), queue()
    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(SoftTimeLimitExceeded):
            mails_send([first.pk, second.pk, third.pk])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert reload(first).status == MailStatus.PENDING and reload(first).attempts == 1
    for mail in (reload(second), reload(third)):
        assert (mail.status, mail.attempts, mail.claim) == (MailStatus.PENDING, 0, "")
        assert mail.claimed_until is None


class _TakenOverWhileSending(locmem.EmailBackend):
    """A relay so slow that the lease ran out meanwhile and another worker claimed the
    mail (``mails_requeue`` then another task's claim)."""

    def send_messages(self, messages):
        OutgoingMail.objects.update(claim="other", claimed_until=timezone.now())
        return super().send_messages(messages)


def test_an_outcome_is_written_only_while_the_worker_holds_the_claim(settings):
    """The outcome's one statement a mail writes nothing once another worker holds the
    claim; while this one holds it, status, time, provider id and the erased body."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    kept = queue()
    secret = queue(to="dan@example.org", sensitive=True, body_text="sign in: https://x/y")
    assert mails_send([kept.pk, secret.pk])["sent"] == 2
    kept, secret = reload(kept), reload(secret)
    assert (kept.status, kept.claim, kept.claimed_until) == (MailStatus.SENT, "", None)
    assert kept.sent_at is not None and kept.error == ""
    assert kept.body_text == "Your ticket number is SD-100001."
    assert secret.status == MailStatus.SENT and secret.body_text.startswith("(erased")

    settings.EMAIL_BACKEND = f"{__name__}._TakenOverWhileSending"
    taken = queue()
    mails_send([taken.pk])
    taken = reload(taken)
    assert (taken.status, taken.claim, taken.sent_at) == (MailStatus.SENDING, "other", None)


def _outcomes(smtp_settings, mail_server) -> list[tuple]:
    """Send one of each outcome (sent, a sign-in link sent and erased, expired, rejected,
    temporarily refused) and return what each row says after (no ids, no times)."""
    mail_server.rejected = {"nobody@example.org"}
    mails = [
        queue(),
        queue(kind=MailKind.MAGIC_LINK, sensitive=True, body_text="https://desk/x/"),
        queue(expires_at=timezone.now() - timedelta(seconds=1)),
        queue(to="nobody@example.org"),
    ]
    outcome = mails_send([m.pk for m in mails])
    mail_server.tempfail = True
    retried = queue()
    outcome += mails_send([retried.pk])
    rows = [reload(m) for m in [*mails, retried]]
    return [dict(outcome)] + [
        (r.status, r.error.split(" (next")[0], r.claim, r.claimed_until, r.body_text,
         r.sent_at is not None, r.next_attempt_at > r.created_at)
        for r in rows
    ]  # fmt: skip


def test_the_outcomes_are_the_same_written_as_prepared_statements_or_not(
    smtp_settings, mail_server, settings
):
    """On PostgreSQL each outcome runs as a statement prepared once a connection (planned
    once): what it writes equals what the plain statement writes."""
    from django.db import connection

    mail_server.start()
    settings.DB_PREPARED_STATEMENTS = False
    plain = _outcomes(smtp_settings, mail_server)
    mail_server.tempfail = False
    settings.DB_PREPARED_STATEMENTS = True
    prepared = _outcomes(smtp_settings, mail_server)
    assert prepared == plain
    assert plain[0] == {"sent": 2, "failed": 2, "retry": 1}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'outbox%'")
            assert cursor.fetchone()[0] == 4  # sent, sent and erased, failed, retry


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_the_outcome_again(smtp_settings, mail_server, settings):
    from django.db import connection

    settings.DB_PREPARED_STATEMENTS = True
    mail_server.start()
    first = queue()
    assert mails_send([first.pk]) == {"sent": 1}
    connection.close()  # a reconnect: PostgreSQL forgot the statement, so must we
    second = queue()
    assert mails_send([second.pk]) == {"sent": 1}
    assert reload(second).status == MailStatus.SENT
