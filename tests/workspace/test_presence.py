"""Presence on Redis: who else is on a ticket, in one round trip a page.

The cache runs on a throwaway redis-server (tests/redis_server.py), as in production, in
both passes. Round trips are counted where redis-py sends them to the socket (one
``send_packed_command`` per command, one per pipeline): the server still answers them.
"""

from __future__ import annotations

import json
import time

import pytest
from django.core.cache import cache
from django.test import Client
from redis.connection import Connection

from supportdesk import redis_guard
from tests.factories import open_ticket
from tests.redis_server import RedisServer, desk_cache_on
from workspace import presence

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_cache(settings, tmp_path):
    server = RedisServer(tmp_path)
    desk_cache_on(settings, server, "presence")
    redis_guard.mark_up()
    yield server
    redis_guard.mark_up()
    redis_guard._pending.clear()
    server.stop()


@pytest.fixture
def presence_trips(monkeypatch):
    """The round trips to Redis that touch presence (the session's are not counted)."""
    trips: list[bytes] = []
    send = Connection.send_packed_command

    def counted(self, command, check_health=True):
        sent = b"".join(command) if isinstance(command, list) else bytes(command)
        if b"ws:presence" in sent or b"ws:agents" in sent:
            trips.append(sent)
        return send(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counted)
    return trips


def test_the_ticket_page_visits_presence_in_one_round_trip(
    redis_cache, presence_trips, departments, anna, desk_agent, other_agent
):
    ticket = open_ticket(subject="Busy", contact=anna)
    presence.seen(ticket.pk, other_agent, typing=True)
    client = Client()
    client.force_login(desk_agent)
    presence_trips.clear()
    html = client.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "Bob Agent is typing a reply" in html
    assert len(presence_trips) == 1  # record Alice and read the others: one pipeline
    presence_trips.clear()
    html = client.post(f"/desk/t/{ticket.number}/presence/", {"version": "0"}).content.decode()
    assert "Bob Agent is typing a reply" in html
    assert len(presence_trips) == 1  # the page's heartbeat too
    assert [v.name for v in presence.others(ticket.pk, other_agent.pk)] == ["Alice Agent"]


def test_visit_shows_other_agents_typing_first_and_not_oneself(
    redis_cache, departments, anna, desk_agent, other_agent, admin_user
):
    ticket = open_ticket(subject="Crowded", contact=anna)
    presence.seen(ticket.pk, admin_user, typing=False)
    presence.seen(ticket.pk, other_agent, typing=True)
    viewers = presence.visit(ticket.pk, desk_agent, typing=False)
    assert [(v.user_id, v.typing) for v in viewers] == [
        (other_agent.pk, True),
        (admin_user.pk, False),
    ]
    presence.left(ticket.pk, other_agent)
    assert [v.user_id for v in presence.visit(ticket.pk, desk_agent, typing=False)] == [
        admin_user.pk
    ]
    assert presence.visit(ticket.pk, desk_agent, typing=False) != []  # not another ticket's
    assert presence.visit(open_ticket(contact=anna).pk, desk_agent, typing=False) == []


def test_an_agent_gone_quiet_is_not_shown_and_is_forgotten(
    redis_cache, departments, anna, desk_agent, other_agent, admin_user
):
    ticket = open_ticket(subject="Quiet", contact=anna)
    key = cache.make_and_validate_key(f"ws:presence:{ticket.pk}")
    client = cache.client.get_client(write=True)
    now = time.time()
    # Bob's tab went quiet 20 s ago (shown no more), the admin's 40 s ago (forgotten).
    client.hset(key, str(other_agent.pk), json.dumps({"at": now - 20, "name": "Bob Agent"}))
    client.hset(key, str(admin_user.pk), json.dumps({"at": now - 40, "name": "admin"}))
    assert presence.visit(ticket.pk, desk_agent, typing=False) == []
    assert sorted(client.hkeys(key)) == sorted([b"%d" % desk_agent.pk, b"%d" % other_agent.pk])
    assert 0 < client.ttl(key) <= presence.KEPT_SECONDS


def test_the_ticket_page_answers_with_redis_stopped(redis_cache, departments, anna, desk_agent):
    ticket = open_ticket(subject="Still here", contact=anna)
    client = Client()
    client.force_login(desk_agent)
    assert client.get(f"/desk/t/{ticket.number}/").status_code == 200
    redis_cache.stop()
    page = client.get(f"/desk/t/{ticket.number}/")
    assert page.status_code == 200 and "Still here" in page.content.decode()
    ping = client.post(f"/desk/t/{ticket.number}/presence/", {"version": "0"})
    assert ping.status_code == 200
