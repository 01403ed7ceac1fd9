"""Chat conversations moved from the portal to the chat channel: an install upgrading from
the portal's model keeps every conversation, its table and its unique-per-source rule."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.migrations import leaves, migrate

BEFORE = [
    ("portal", "0002_chat_conversation_per_source"),
    ("channels_app", "0003_drop_outbound_email"),
]
AFTER = [
    ("portal", "0003_chat_conversation_to_channels"),
    ("channels_app", "0004_chat_conversation_from_portal"),
]

pytestmark = pytest.mark.django_db(transaction=True)


def test_conversations_survive_the_move_to_channels_app(departments, anna):
    from tests.factories import open_ticket

    ticket = open_ticket(subject="Chat", channel="chat")
    latest = leaves()
    try:
        old = migrate(BEFORE)
        OldChat = old.get_model("portal", "ChatConversation")
        OldChat.objects.create(
            conversation_id="42", ticket_id=ticket.pk, contact_id=anna.pk, source="api:pbx"
        )
        OldChat.objects.create(conversation_id="portal-1", ticket_id=ticket.pk, source="portal")

        new = migrate(AFTER)
        Chat = new.get_model("channels_app", "ChatConversation")
        assert Chat._meta.db_table == "portal_chatconversation"
        assert sorted(
            Chat.objects.values_list("source", "conversation_id", "ticket_id", "contact_id")
        ) == [("api:pbx", "42", ticket.pk, anna.pk), ("portal", "portal-1", ticket.pk, None)]
        # The portal's admin proxy reads the same rows.
        Proxy = new.get_model("portal", "ChatConversation")
        assert Proxy._meta.proxy
        assert Proxy.objects.count() == 2
        with pytest.raises(IntegrityError), transaction.atomic():
            Chat.objects.create(conversation_id="42", ticket_id=ticket.pk, source="api:pbx")
    finally:
        migrate(latest)

    # And the code's model reads them after the upgrade.
    from channels_app.chat.models import ChatConversation

    assert ChatConversation.objects.get(source="api:pbx").contact == anna
