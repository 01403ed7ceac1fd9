"""Webhook bursts: each delivery answers once its raw mail is committed, and the mails are
processed in batches (a collection window, one task for many records) by a real worker;
an ESP's retry storm (the same mails re-sent concurrently) still makes one message each."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from channels_app.models import InboundRecord, InboundStatus
from tests.processes import wait_until
from tickets.models import Message, Ticket

from .mail_helpers import make_mail
from .test_email_webhooks import SECRET, SIGNING_KEY, mailgun, postmark_parsed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def _all_done() -> bool:
    return not InboundRecord.objects.filter(status=InboundStatus.RECEIVED).exists()


def _succeeded(worker, task: str) -> list[str]:
    return [line for line in worker.lines if f"{task}[" in line and "succeeded" in line]


@pytest.mark.worker
def test_a_burst_is_processed_in_batches_by_the_worker(worker, settings):
    """40 deliveries inside one (long) window: each stored before its 200, then a few
    window tasks queue them as batches; no task per mail."""
    settings.SUPPORTDESK_WEBHOOK_WINDOW_SECONDS = 3
    client = Client()
    for n in range(40):
        raw = make_mail(subject=f"Burst {n}", sender=f"c{n}@example.org", message_id=f"b{n}@x")
        assert mailgun(client, raw).status_code == 200
        assert InboundRecord.objects.filter(external_id=f"b{n}@x").exists()  # before the 200
    wait_until(_all_done, 90, "the worker to process the burst", worker)
    assert set(InboundRecord.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}
    assert Ticket.objects.count() == 40
    worker.wait_for_task_success("process_inbound_records")
    windows = _succeeded(worker, "channels_app.process_webhook_window")
    taken = sum(int(re.search(r"succeeded in [\d.]+s: (\d+)", line)[1]) for line in windows)
    assert taken == 40 and 1 <= len(windows) < 20  # many records per window
    assert _succeeded(worker, "channels_app.process_inbound_record") == []  # none alone


def test_a_window_takes_its_records_once(settings, monkeypatch):
    """A window's task queues the records of its window, once: a record still waiting in
    the queue is not taken again by later windows (before, each window queued the whole
    waiting backlog again: at a lagging worker 6,000 mails made 11,000 tasks). Without
    Redis (embedded), the window looks for recent webhook records on their first attempt;
    imports, mailboxes and records being retried are not its."""
    from channels_app import windows
    from channels_app.inbound import inbound_store

    settings.SUPPORTDESK_WEBHOOK_WINDOW_SECONDS = 60  # every record below in one window
    hooked = [
        inbound_store(
            channel="email", source="mailgun", raw=make_mail(subject=f"h{n}"), enqueue=False
        )[0]
        for n in range(3)
    ]
    inbound_store(channel="email", source="imap:support", raw=make_mail(subject="imap"))
    InboundRecord.objects.filter(pk=hooked[2].pk).update(attempts=1)  # being retried
    queued: list[str] = []  # the window task's argument, taken instead of the broker's
    monkeypatch.setattr(windows, "_queue_window", lambda key, countdown: queued.append(key))
    for record in hooked[:2]:
        windows._open_window(record.pk)
    assert len(queued) == 1  # one task for the window
    assert windows.inbound_window_take(queued[0]) == 2
    if queued[0]:  # Redis: the window's list is gone, a second run takes nothing
        assert windows.inbound_window_take(queued[0]) == 0


@pytest.mark.worker
def test_an_esp_retry_storm_makes_one_message_each(worker, settings):
    """Ten mails, each posted by four concurrent requests (raw MIME, as Mailgun posts it),
    and one parsed-JSON mail without a Message-ID posted by four more (new MIME every
    time): eleven messages, eleven tickets."""
    settings.SUPPORTDESK_WEBHOOK_WINDOW_SECONDS = 0.2
    mails = [
        make_mail(subject=f"Storm {n}", sender=f"s{n}@example.org", message_id=f"storm{n}@x")
        for n in range(10)
    ]
    codes: list[int] = []
    start = threading.Barrier(8)

    def deliver(share: list[bytes], parsed: bool) -> None:
        client = Client()
        start.wait()
        for raw in share:
            codes.append(mailgun(client, raw).status_code)
        if parsed:
            codes.append(postmark_parsed(client, None).status_code)
        connection.close()

    threads = [
        threading.Thread(target=deliver, args=(mails[i % 2 :: 2] * 2, i < 4)) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * len(codes) and len(codes) == 8 * 10 + 4
    wait_until(_all_done, 90, "the worker to process the storm", worker)
    assert Message.objects.count() == 11 and Ticket.objects.count() == 11
    for n in range(10):
        assert Message.objects.filter(external_id=f"storm{n}@x").count() == 1
