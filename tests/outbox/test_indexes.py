"""The outbox keeps only the indexes a query needs (each one gets an entry for every
version of every mail: insert, claim, outcome), and the waiting mails' index holds the
waiting mails alone, yet still serves the re-queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from outbox.models import MailKind, MailStatus, OutgoingMail
from outbox.sending import mails_requeue
from outbox.services import MailOut, mail_queue

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'outbox_outgoingmail'"
        )
        return dict(cursor.fetchall())


def test_only_the_needed_indexes_are_written():
    indexes = _indexes()
    assert not [name for name in indexes if name.endswith("_like")]  # nothing runs LIKE
    columns = [definition.split(" USING btree ", 1)[1] for definition in indexes.values()]
    assert "(to_email)" not in columns  # the rate window's index starts with it
    assert len(indexes) == 6
    assert "WHERE" in indexes["outbox_waiting"]
    assert "WHERE (timeline_message_id IS NOT NULL)" in indexes["outbox_timeline_message"]


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_requeue_reads_the_waiting_index(smtp_settings):
    now = timezone.now()
    waiting = OutgoingMail.objects.filter(status=MailStatus.PENDING, next_attempt_at__lte=now)
    stale = OutgoingMail.objects.filter(status=MailStatus.SENDING, claimed_until__lt=now)
    for query in (waiting, stale):
        sql, params = query.values_list("pk").order_by().query.sql_with_params()
        assert "outbox_waiting" in _plan(sql, list(params))


def test_sent_and_failed_mails_leave_the_waiting_index_and_waiting_ones_are_found(
    smtp_settings,
):
    mails = [
        mail_queue(MailOut(kind=MailKind.AUTO_REPLY, to=[f"c{i}@example.org"], subject="s",
                           body_text="b"))
        for i in range(3)
    ]  # fmt: skip
    earlier = timezone.now() - timedelta(minutes=5)
    OutgoingMail.objects.filter(pk=mails[0].pk).update(status=MailStatus.SENT, sent_at=earlier)
    OutgoingMail.objects.filter(pk=mails[1].pk).update(status=MailStatus.FAILED)
    OutgoingMail.objects.update(next_attempt_at=earlier)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SELECT id FROM outbox_outgoingmail WHERE status IN ('pending', 'sending')")
        assert [row[0] for row in cursor.fetchall()] == [mails[2].pk]
    assert mails_requeue(grace_seconds=0) == 1
