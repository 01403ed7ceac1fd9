"""Reads other apps need from the outbox."""

from __future__ import annotations

from collections.abc import Iterable

from .models import OutgoingMail


def ticket_ids_by_sent_message_ids(message_ids: Iterable[str]) -> dict[str, int]:
    """Map each of ``message_ids`` that is one of our mails to its ticket's id (threading:
    a customer answering an acknowledgement quotes its Message-ID)."""
    ids = set(message_ids)
    if not ids:
        return {}
    return dict(
        OutgoingMail.objects.filter(message_id__in=ids, ticket__isnull=False).values_list(
            "message_id", "ticket_id"
        )
    )
