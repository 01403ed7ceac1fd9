"""The migration that scopes chat conversation ids per source keeps every conversation."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.migrations import leaves, migrate

BEFORE = [("portal", "0001_initial")]
AFTER = [("portal", "0002_chat_conversation_per_source")]

pytestmark = pytest.mark.django_db(transaction=True)


def test_conversations_survive_and_ids_become_unique_per_source(departments):
    from tests.factories import open_ticket

    ticket = open_ticket(subject="Chat", channel="chat")
    latest = leaves()
    try:
        old = migrate(BEFORE)
        Chat = old.get_model("portal", "ChatConversation")
        Chat.objects.create(conversation_id="42", ticket_id=ticket.pk, source="api:pbx")
        Chat.objects.create(conversation_id="portal-1", ticket_id=ticket.pk, source="portal")

        new = migrate(AFTER)
        Chat = new.get_model("portal", "ChatConversation")
        assert sorted(Chat.objects.values_list("source", "conversation_id", "ticket_id")) == [
            ("api:pbx", "42", ticket.pk),
            ("portal", "portal-1", ticket.pk),
        ]
        Chat.objects.create(conversation_id="42", ticket_id=ticket.pk, source="api:other")
        with pytest.raises(IntegrityError), transaction.atomic():
            Chat.objects.create(conversation_id="42", ticket_id=ticket.pk, source="api:pbx")
    finally:
        migrate(latest)
