"""Lost queue entries recover when a worker connects to the broker, not minutes later."""

from __future__ import annotations

import pytest

from channels_app.inbound import inbound_store_many
from channels_app.models import InboundRecord, InboundStatus
from tests.processes import start_worker, wait_until
from tickets.models import Channel, Ticket

from .mail_helpers import make_mail

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_starting_worker_queues_again_what_was_left_waiting(departments):
    """Records whose queue entries were lost (here: never sent) and that are younger than
    beat's age threshold: before, they waited for beat (every 5 minutes, 2 minutes old)."""
    stored = inbound_store_many(
        channel=Channel.EMAIL,
        source="import",
        raws=[make_mail(subject=f"Lost entry {n}") for n in range(120)],
        enqueue=False,
    )
    ids = [record.pk for record, _ in stored]
    worker = start_worker()
    try:
        waiting = InboundRecord.objects.filter(pk__in=ids, status=InboundStatus.RECEIVED)
        wait_until(lambda: not waiting.exists(), 60, "the waiting records to be processed", worker)
        worker.wait_for_task_success("channels_app.requeue_stale_inbound")
    finally:
        worker.stop()
    assert set(InboundRecord.objects.values_list("status", flat=True)) == {"processed"}
    assert Ticket.objects.count() == 120
