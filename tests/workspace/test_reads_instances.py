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


def test_instances_are_made_without_model_init_yet_behave_as_the_orms(departments, monkeypatch):
    """``_instances`` sets a row's fields straight into the instance (no ``__init__``
    per-field loop): the instance is the ORM's in every way a page or a service uses."""
    from django.db.models.signals import post_init

    ticket = open_ticket(subject="Printer on fire", body="Help!")
    made = []
    init = Message.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(Message, "__init__", counting)
    messages, _attachments = reads.messages_with_attachments(ticket)
    assert messages and not made
    monkeypatch.undo()
    message = messages[0]
    orm = Message.objects.get(pk=message.pk)
    assert _fields(message) == _fields(orm) and message == orm
    assert message.ticket == ticket and message.ticket.subject == "Printer on fire"
    assert not message._state.adding and message._state.db == "default"
    message.body_text = "edited"
    message.save(update_fields=["body_text"])
    assert Message.objects.get(pk=message.pk).body_text == "edited"
    assert Message.objects.count() == 1  # saved as an update, not a new row

    # A model whose init signal has a listener is made by __init__, so the listener runs.
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance)

    reads._plain_fields.cache_clear()
    post_init.connect(listener, sender=TicketEvent)
    try:
        events = reads.events(ticket, ["created"])
        assert events and seen == events
    finally:
        post_init.disconnect(listener, sender=TicketEvent)
        reads._plain_fields.cache_clear()


def test_the_ticket_by_number_comes_with_its_relations_cached_as_select_related_reads_them(
    departments, desk_agent
):
    """The related objects are put in the ticket's cache (not assigned through the
    descriptors): the same objects select_related gives, read without another query,
    and an absent relation is None without one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ContactFactory
    from tickets import services
    from tickets.models import Ticket

    related = ("department", "line", "contact", "account", "assignee")
    full = open_ticket(subject="Full", contact=ContactFactory(name="Ada"))
    services.ticket_assign(ticket=full, assignee=desk_agent, actor=desk_agent)
    bare = open_ticket(subject="Bare")
    Ticket.objects.filter(pk=bare.pk).update(contact=None, account=None)
    for ticket in (full, bare):
        want = Ticket.objects.select_related(*related).get(pk=ticket.pk)
        got = reads.ticket_by_number(ticket.number)
        assert got is not None and _fields(got) == _fields(want)
        with CaptureQueriesContext(connection) as queries:
            for name in related:
                mine, theirs = getattr(got, name), getattr(want, name)
                assert (mine is None) == (theirs is None), name
                if mine is not None:
                    assert _fields(mine) == _fields(theirs), name
        assert queries.captured_queries == []
    assert reads.ticket_by_number(full.number).contact.name == "Ada"
    assert reads.ticket_by_number(bare.number).contact is None
