"""Who else has a ticket open, and who is typing an answer: kept in the cache.

Each agent's page reports every few seconds; an entry older than ``VIEWING_SECONDS`` no
longer counts. A page's report and its question (who else is here) are one ``visit``.

On Redis (production) a ticket's presence is one hash, a field per agent: a visit is one
round trip (``HSET`` own field, ``EXPIRE``, ``HGETALL``, in one script: ``_VISIT``),
where separate keys per agent took four (the agents' list, the own key, the list
again, ``MGET``) on every ticket page and heartbeat. Each agent writes only its own
field, so agents do not race. A stopped or frozen Redis costs the page its presence
line, not the page (``supportdesk.redis_guard``). Other caches (the embedded mode's)
keep a key per ticket and agent, read with one ``get_many`` over the active agents.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache

from supportdesk import redis_guard

VIEWING_SECONDS = 15
TYPING_SECONDS = 8
KEPT_SECONDS = VIEWING_SECONDS * 2  # an entry (key, hash field) lives this long unrefreshed
AGENTS_KEY = "ws:agents"
# A visit on Redis: the own field, the hash's expiry, then every field, as one command.
# The same round trip as the pipeline of HSET, EXPIRE and HGETALL it replaces, with one
# command to write and one reply to read instead of three (redis-py's per-command work
# was ~0.1 ms of a ticket page's CPU). EVAL rather than EVALSHA: a server that has not
# seen the script yet answers at once, without a NOSCRIPT round trip first.
_VISIT = (
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[3]) "
    "return redis.call('HGETALL', KEYS[1])"
)


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    typing: bool


def visit(ticket_id: int, user: User, *, typing: bool) -> list[Viewer]:
    """Record that ``user`` has the ticket open (and whether they are typing); return the
    other agents on it now, typing ones first."""
    entry = _entry(user, typing)
    client = _redis()
    if client is None:
        _cache_set(ticket_id, user.pk, entry)
        return _cache_others(ticket_id, user.pk)
    key = _hash_key(ticket_id)

    def send() -> dict[bytes, bytes]:
        found = client.eval(_VISIT, 1, key, str(user.pk), json.dumps(entry), KEPT_SECONDS)
        return dict(zip(found[::2], found[1::2], strict=True))

    return _viewers(client, key, redis_guard.cache_call(send, default={}), user.pk)


def seen(ticket_id: int, user: User, *, typing: bool) -> None:
    """Record that ``user`` has the ticket open, without asking who else is (after a
    change, before the redirect)."""
    entry = _entry(user, typing)
    client = _redis()
    if client is None:
        _cache_set(ticket_id, user.pk, entry)
        return
    key = _hash_key(ticket_id)

    def send() -> None:
        pipe = client.pipeline(transaction=False)
        pipe.hset(key, str(user.pk), json.dumps(entry))
        pipe.expire(key, KEPT_SECONDS)
        pipe.execute()

    redis_guard.cache_call(send)


def left(ticket_id: int, user: User) -> None:
    client = _redis()
    if client is None:
        cache.delete(_key(ticket_id, user.pk))
    else:
        redis_guard.cache_call(client.hdel, _hash_key(ticket_id), str(user.pk))


def others(ticket_id: int, user_id: int) -> list[Viewer]:
    """Return the other agents on the ticket now, typing ones first."""
    client = _redis()
    if client is None:
        return _cache_others(ticket_id, user_id)
    key = _hash_key(ticket_id)
    return _viewers(client, key, redis_guard.cache_call(client.hgetall, key, default={}), user_id)


def _entry(user: User, typing: bool) -> dict[str, Any]:
    now = time.time()
    return {"at": now, "typing_at": now if typing else 0, "name": _name(user)}


def _redis() -> Any:
    """The Redis client behind the cache (django-redis), or None for another cache."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


def _hash_key(ticket_id: int) -> str:
    return cache.make_and_validate_key(f"ws:presence:{ticket_id}")


def _viewers(client: Any, key: str, fields: dict[bytes, bytes], user_id: int) -> list[Viewer]:
    now = time.time()
    out, gone = [], []
    for field, raw in fields.items():
        value = json.loads(raw)
        if now - value["at"] > KEPT_SECONDS:
            gone.append(field)  # an agent who left without saying (closed the tab)
        elif int(field) != user_id and now - value["at"] <= VIEWING_SECONDS:
            typing = now - value.get("typing_at", 0) <= TYPING_SECONDS
            out.append(Viewer(int(field), value["name"], typing))
    if gone:
        redis_guard.cache_call(client.hdel, key, *gone)
    return sorted(out, key=lambda v: (not v.typing, v.name))


def _key(ticket_id: int, user_id: int) -> str:
    return f"ws:presence:{ticket_id}:{user_id}"


def _cache_set(ticket_id: int, user_id: int, entry: dict[str, Any]) -> None:
    agents = cache.get(AGENTS_KEY)
    if agents is not None and user_id not in agents:  # a new agent: known at once
        cache.set(AGENTS_KEY, [*agents, user_id], 60)
    cache.set(_key(ticket_id, user_id), entry, KEPT_SECONDS)


def _cache_others(ticket_id: int, user_id: int) -> list[Viewer]:
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
