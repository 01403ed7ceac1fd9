"""The claim reads the claimed mails with its own UPDATE … RETURNING (and their files only
when one has any): what it hands the send loop equals the stored rows as the ORM reads
them, and the message built from it equals one built from the model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outbox.models import MailKind, MailStatus, OutgoingMail
from outbox.sending import CLAIMED_FIELDS, _claim, email_message
from outbox.services import FileOut, MailOut, mail_queue

pytestmark = pytest.mark.django_db

text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
addresses = st.lists(st.from_regex(r"[a-z]{1,8}@example\.(org|com)", fullmatch=True), max_size=3)


def _model_message(mail: OutgoingMail) -> EmailMultiAlternatives:
    """The message as it was built from the model instance before the claim returned rows."""
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=mail.from_email,
        to=list(mail.to),
        cc=list(mail.cc),
        reply_to=list(mail.reply_to),
        headers={**mail.headers, "Message-ID": f"<{mail.message_id}>"},
    )
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    for item in mail.attachments.all():
        message.attach(item.filename, bytes(item.content), item.content_type)
    return message


def _parts(message: EmailMultiAlternatives) -> tuple:
    return (
        message.subject,
        message.body,
        message.from_email,
        message.to,
        message.cc,
        message.reply_to,
        message.extra_headers,
        message.alternatives,
        message.attachments,
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    subject=text,
    body=text,
    html=st.one_of(st.just(""), text),
    to=addresses.filter(bool),
    cc=addresses,
    reply_to=addresses,
    headers=st.dictionaries(st.sampled_from(["X-Ticket", "Auto-Submitted", "X-Ref"]), text),
    files=st.lists(st.tuples(text.filter(bool), st.binary(max_size=64)), max_size=3),
    sensitive=st.booleans(),
)
def test_a_claimed_mail_equals_its_row_and_builds_the_same_message(
    subject, body, html, to, cc, reply_to, headers, files, sensitive
):
    mail = mail_queue(
        MailOut(
            kind=MailKind.AGENT_REPLY,
            to=to,
            cc=cc,
            reply_to=reply_to,
            subject=subject,
            body_text=body,
            body_html=html,
            headers=headers,
            sensitive=sensitive,
            attachments=[FileOut(name, content, "application/pdf") for name, content in files],
        )
    )
    (claimed,) = _claim([mail.pk])
    row = OutgoingMail.objects.get(pk=mail.pk)
    assert row.status == MailStatus.SENDING and row.claim == claimed.claim
    assert claimed.pk == row.pk
    for name in CLAIMED_FIELDS:
        assert getattr(claimed, name) == getattr(row, name), name
    assert claimed.attempts == 1
    assert claimed.created_at.utcoffset() == timedelta(0)
    assert _parts(email_message(claimed)) == _parts(_model_message(row))
    OutgoingMail.objects.filter(pk=mail.pk).delete()


def _queue(n: int, **extra) -> OutgoingMail:
    fields = {"kind": MailKind.SUBMISSION, "to": [f"c{n}@example.org"], "subject": "s"}
    return mail_queue(MailOut(**fields, body_text="b", **extra))


def test_files_are_read_only_for_mails_that_have_them():
    plain = [_queue(i) for i in range(3)]
    with CaptureQueriesContext(connection) as captured:
        claimed = _claim([m.pk for m in plain])
    assert [m.pk for m in claimed] == sorted(m.pk for m in plain)
    assert len(captured.captured_queries) == 1  # the claim alone
    assert all(m.attachments == [] for m in claimed)

    files = [FileOut("b.txt", b"two"), FileOut("a.txt", b"one")]
    with_files = _queue(9, attachments=files)
    other = _queue(10)
    with CaptureQueriesContext(connection) as captured:
        first, second = _claim([other.pk, with_files.pk])
    assert len(captured.captured_queries) == 2
    assert first.pk == with_files.pk and second.pk == other.pk
    assert first.attachments == [
        ("b.txt", b"two", "application/octet-stream"),
        ("a.txt", b"one", "application/octet-stream"),
    ]
    assert second.attachments == []


def test_only_due_pending_mails_are_claimed_once():
    due, later, sent = _queue(1), _queue(2), _queue(3)
    OutgoingMail.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    OutgoingMail.objects.filter(pk=sent.pk).update(status=MailStatus.SENT, sent_at=timezone.now())
    assert [m.pk for m in _claim([due.pk, later.pk, sent.pk])] == [due.pk]
    assert _claim([due.pk]) == []  # claimed already
    row = OutgoingMail.objects.get(pk=due.pk)
    assert row.attempts == 1 and row.last_attempt_at is not None
    assert row.claimed_until > timezone.now()
