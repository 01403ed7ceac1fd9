"""The SLA clock starts when the message reached the desk, not when a worker processed it
(issue 12, rule 5): the webhook's arrival, the stored record's time, or for imports the
mail's Date: within sane bounds."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from channels_app.inbound import inbound_process, inbound_process_many, inbound_store
from channels_app.models import InboundRecord
from sla.services import ticket_sla_recompute
from tickets.models import Channel, Ticket

from .mail_helpers import make_mail
from .test_email_webhooks import anymail_settings, mailgun  # noqa: F401

pytestmark = pytest.mark.django_db

STORED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
PROCESSED = STORED + timedelta(hours=2)


def dated(raw: bytes, date: str) -> bytes:
    return raw.replace(b"Tue, 05 Mar 2024 10:15:00 +0100", date.encode())


def test_a_mail_stored_at_10_and_processed_at_12_starts_its_clock_at_10(client, presets):
    raw = dated(make_mail(subject="Backlog"), "Mon, 23 Nov 2026 09:58:00 +0000")
    with time_machine.travel(STORED, tick=False):
        assert mailgun(client, raw).status_code == 200  # stored: the webhook answers
    record = InboundRecord.objects.get()
    with time_machine.travel(PROCESSED, tick=False):  # the worker gets to it 2 h later
        message = inbound_process(record.pk).message
        sla = ticket_sla_recompute(message.ticket_id)
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.created_at == STORED and message.received_at == STORED
    assert message.occurred_at == STORED  # not the sender's Date: (09:58), nor 12:00
    assert sla.started_at == STORED
    assert sla.explanation["targets"]["first_response"]["started_at"] == STORED.isoformat()


def test_an_api_entry_starts_when_its_record_was_stored(presets):
    with time_machine.travel(STORED, tick=False):
        record, _ = inbound_store(
            channel=Channel.API,
            source="crm",
            payload={"subject": "Zone down", "body": "SERVFAIL", "department": "technical-support"},
            enqueue=False,
        )
    with time_machine.travel(PROCESSED, tick=False):
        ticket = inbound_process(record.pk).message.ticket
    assert ticket.created_at == STORED


def test_an_import_starts_at_the_mails_date_within_sane_bounds(tmp_path, presets):
    dates = {
        "sane": "Fri, 20 Nov 2026 15:30:00 +0100",  # three days before the import
        "future": "Sat, 01 Jan 2452 00:00:00 +0000",
        "ancient": "Thu, 01 Jan 1970 00:00:00 +0000",
    }
    for name, date in dates.items():
        (tmp_path / f"{name}.eml").write_bytes(dated(make_mail(subject=f"Imported {name}"), date))
    with time_machine.travel(STORED, tick=False):
        call_command("ingest_email", str(tmp_path), "--source", "archive", stdout=io.StringIO())
    assert set(InboundRecord.objects.values_list("source", flat=True)) == {"import:archive"}
    with time_machine.travel(PROCESSED, tick=False):
        inbound_process_many(list(InboundRecord.objects.values_list("pk", flat=True)))
    created = dict(Ticket.objects.values_list("subject", "created_at"))
    assert created["Imported sane"] == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    assert created["Imported future"] == STORED  # the import's own time, not 2452
    assert created["Imported ancient"] == STORED


@pytest.mark.parametrize(
    ("channel", "payload"),
    [
        (Channel.PHONE, {"caller": "+31 20 123 4567", "summary": "Site down"}),
        (Channel.CHAT, {"conversation_id": "c-9", "text": "Site down", "from_name": "Ann"}),
    ],
)
def test_a_call_or_chat_line_starts_when_its_record_was_stored(channel, payload, presets):
    """A backlog of calls or chat lines does not move their deadlines later."""
    with time_machine.travel(STORED, tick=False):
        record, _ = inbound_store(channel=channel, source="pbx", payload=payload, enqueue=False)
    with time_machine.travel(PROCESSED, tick=False):
        message = inbound_process(record.pk).message
        sla = ticket_sla_recompute(message.ticket_id)
    assert message.received_at == STORED
    assert Ticket.objects.get(pk=message.ticket_id).created_at == STORED
    assert sla.started_at == STORED
