"""Celery tasks of the outbox: thin wrappers around ``outbox.sending``."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .sending import mails_requeue, mails_send


@shared_task(
    name="outbox.send_mails",
    acks_late=True,  # idempotent: each mail is claimed once, a re-delivery skips it
    autoretry_for=(OperationalError,),  # the database, not the mail server
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=240,
    time_limit=300,  # under SUPPORTDESK_OUTBOX_LEASE_SECONDS: a claim outlives its worker
)
def send_mails(mail_ids: list[int]) -> dict[str, int]:
    """Send these stored mails; return how many ended in each status. Mail servers'
    temporary refusals are retried by queuing the mail again with backoff."""
    return dict(mails_send(mail_ids))


@shared_task(name="outbox.requeue_mails", soft_time_limit=60, time_limit=90)
def requeue_mails(grace_seconds: int | None = None) -> int:
    """Queue again the mails left waiting (beat, and each worker as it starts)."""
    return mails_requeue(grace_seconds=grace_seconds)
