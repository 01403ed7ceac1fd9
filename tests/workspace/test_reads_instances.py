"""The ticket page's model reads (workspace/reads.py ``_instances``) give what
``Model.objects.raw()`` gives: every field, converted by the backend (JSON, times)."""

from __future__ import annotations

import pytest

from tests.factories import open_ticket
from tickets.models import Message, TicketEvent
from workspace import reads

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_instances_are_what_raw_gives(departments):
    ticket = open_ticket(subject="Printer on fire", body="Help!")
    Message.objects.filter(ticket=ticket).update(metadata={"headers": {"x-a": "1"}, "n": [1, 2]})
    sql = 'SELECT * FROM "tickets_message" WHERE ticket_id = %s ORDER BY id'
    mine = reads._instances(Message, sql, [ticket.pk])
    theirs = list(Message.objects.raw(sql, [ticket.pk]))
    assert mine and [_fields(m) for m in mine] == [_fields(m) for m in theirs]
    assert mine[0].metadata == {"headers": {"x-a": "1"}, "n": [1, 2]}
    assert mine[0].occurred_at.tzinfo is not None
    assert not mine[0]._state.adding and mine[0]._state.db == "default"
    messages, _attachments = reads.messages_with_attachments(ticket)
    assert [m.pk for m in messages] == [m.pk for m in theirs]


def test_columns_in_any_order_land_in_their_fields(departments):
    ticket = open_ticket(subject="Printer on fire")
    sql = (
        'SELECT "kind", "data", "id", "ticket_id", "created_at", "actor_id" '
        'FROM "tickets_ticketevent" WHERE ticket_id = %s ORDER BY id'
    )
    found = reads._instances(TicketEvent, sql, [ticket.pk])
    expected = list(TicketEvent.objects.filter(ticket=ticket).order_by("id"))
    assert [(e.pk, e.kind, e.created_at, e.data) for e in found] == [
        (e.pk, e.kind, e.created_at, e.data) for e in expected
    ]
