"""State changes that belong to the workspace alone: saved views, presence, profiles.

Ticket changes go through ``tickets.services``; nothing here touches a ticket.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from tickets.errors import InvalidInput

from . import queues
from .models import SavedView


def saved_view_create(
    *,
    owner: User,
    name: str,
    filters: queues.ViewFilters,
    columns: list[str],
    shared: bool = False,
) -> SavedView:
    """Save a view for ``owner`` (and every agent when ``shared``)."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("name", "Give the view a name.")
    columns = [c for c in columns if c in queues.COLUMNS] or list(queues.DEFAULT_COLUMNS)
    return SavedView.objects.create(
        owner=owner, name=name[:80], shared=shared, filters=filters.to_json(), columns=columns
    )
