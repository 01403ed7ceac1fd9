"""Celery tasks of the mailboxes: thin wrappers around poll.py and health.py."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from .health import mailboxes_health_scan
from .models import Mailbox
from .poll import mailbox_poll


# No acks_late: a poll that dies is simply the next poll's work (the lease expires).
@shared_task(name="mailboxes.poll", soft_time_limit=240, time_limit=300, acks_late=False)
def poll(mailbox_id: int, reconcile: bool | None = None) -> dict:
    """Poll one mailbox; return what the poll did."""
    return mailbox_poll(mailbox_id, reconcile=reconcile).as_dict()


@shared_task(name="mailboxes.poll_due", soft_time_limit=30, time_limit=60, expires=30)
def poll_due() -> int:
    """Queue a poll of every active mailbox whose turn has come; return how many.
    Each mailbox is queued once per interval (its next_poll_at moves on first)."""
    now = timezone.now()
    queued = 0
    due = Mailbox.objects.filter(is_active=True).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
    )
    for pk, every in due.values_list("pk", "poll_every_seconds"):
        following = now + timedelta(seconds=max(every, 5))
        if (
            Mailbox.objects.filter(pk=pk)
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
            .update(next_poll_at=following)
        ):
            poll.apply_async((pk,), expires=max(every, 5))
            queued += 1
    return queued


@shared_task(name="mailboxes.scan_health", soft_time_limit=50, time_limit=60, expires=60)
def scan() -> dict:
    """Raise and resolve stalled/failing mailbox alerts (beat, every minute)."""
    return mailboxes_health_scan()


@shared_task(name="channels_app.poll_imap_mailbox", soft_time_limit=240, time_limit=300)
def poll_by_name(name: str) -> dict:
    """The task name beat used for SUPPORTDESK_IMAP_MAILBOXES (one more release): polls
    the row the variable's mailbox was copied to."""
    mailbox = Mailbox.objects.filter(name=name).first()
    if mailbox is None:
        return {"skipped": f"no mailbox {name!r}"}
    return mailbox_poll(mailbox.pk).as_dict()
