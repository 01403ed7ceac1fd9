"""Who else has a ticket open, and who is typing an answer: kept in the cache.

Each agent's page reports every few seconds (``seen``); an entry older than
``VIEWING_SECONDS`` no longer counts. One key per ticket and agent (no read-modify-write
race between agents), read together with one ``get_many``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache

VIEWING_SECONDS = 15
TYPING_SECONDS = 8
AGENTS_KEY = "ws:agents"


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    typing: bool


def _key(ticket_id: int, user_id: int) -> str:
    return f"ws:presence:{ticket_id}:{user_id}"


def seen(ticket_id: int, user: User, *, typing: bool) -> None:
    """Record that ``user`` has the ticket open (and whether they are typing)."""
    now = time.time()
    agents = cache.get(AGENTS_KEY)
    if agents is not None and user.pk not in agents:  # a new agent: known at once
        cache.set(AGENTS_KEY, [*agents, user.pk], 60)
    cache.set(
        _key(ticket_id, user.pk),
        {"at": now, "typing_at": now if typing else 0, "name": _name(user)},
        VIEWING_SECONDS * 2,
    )


def left(ticket_id: int, user: User) -> None:
    cache.delete(_key(ticket_id, user.pk))


def others(ticket_id: int, user_id: int) -> list[Viewer]:
    """Return the other agents on the ticket now, typing ones first."""
    agents = cache.get(AGENTS_KEY)
    if agents is None:
        agents = list(
            get_user_model()
            .objects.filter(is_active=True, is_staff=True)
            .values_list("pk", flat=True)
        )
        cache.set(AGENTS_KEY, agents, 60)
    keys = {_key(ticket_id, pk): pk for pk in agents if pk != user_id}
    now = time.time()
    out = []
    for key, value in cache.get_many(list(keys)).items():
        if now - value["at"] <= VIEWING_SECONDS:
            typing = now - value.get("typing_at", 0) <= TYPING_SECONDS
            out.append(Viewer(keys[key], value["name"], typing))
    return sorted(out, key=lambda v: (not v.typing, v.name))


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()
