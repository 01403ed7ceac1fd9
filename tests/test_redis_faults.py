"""Redis faults do not break the web side (issue 11, item 7).

Each test runs the desk's cache and sessions on a throwaway redis-server it starts, then
stops (its data gone, as a restart without persistence) or freezes (SIGSTOP: the kernel
accepts connections that are never answered) it. Signed-in pages keep working from the
database, no request hangs on a frozen Redis, nothing Redis missed meanwhile is served
once it is back, and /healthz says what is down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from supportdesk import redis_guard
from supportdesk.celery import app as celery_app
from tests.factories import open_ticket
from tests.portal.conftest import sign_in_link
from tickets import services
from tickets.models import Status

from .redis_server import desk_cache_on

pytestmark = pytest.mark.django_db(transaction=True)
# Far above the socket timeouts below: only a request blocked on a dead socket needs it.
NO_HANG_SECONDS = 60


@pytest.fixture
def desk_on(settings, redis_server):
    """The desk's cache and sessions on the throwaway Redis, as in production."""
    desk_cache_on(settings, redis_server, "faults")
    settings.SUPPORTDESK_LIST_CACHE_SECONDS = 60
    redis_guard.mark_up()
    redis_guard._pending.clear()
    yield redis_server
    redis_guard.mark_up()
    redis_guard._pending.clear()


def portal_client(email: str) -> Client:
    client = Client()
    client.post("/portal/sign-in/", {"email": email})
    client.post(sign_in_link())
    return client


def answered(request: Callable[[], Any]) -> Any:
    """Return the answer of ``request`` run in a thread; fail if it never comes."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(request())
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(NO_HANG_SECONDS)
    assert not thread.is_alive(), "the request hung on Redis"
    assert result, "the request raised"
    return result[0]


def test_signed_in_pages_keep_working_with_redis_stopped(desk_on, anna, boss, departments):
    ticket = open_ticket(subject="Still here", contact=anna)
    portal = portal_client("anna@northwind.example")
    agents = Client()
    agents.force_login(boss)
    assert "Still here" in portal.get("/portal/tickets/").content.decode()
    assert "Still here" in agents.get("/admin/tickets/ticket/").content.decode()

    desk_on.stop()
    page = portal.get("/portal/tickets/")
    assert page.status_code == 200 and "Still here" in page.content.decode()
    page = agents.get("/admin/tickets/ticket/")
    assert page.status_code == 200 and "Still here" in page.content.decode()
    assert agents.get(f"/admin/tickets/ticket/{ticket.pk}/change/").status_code == 200
    # Signing in and out while Redis is away works too.
    again = portal_client("anna@northwind.example")
    assert "Still here" in again.get("/portal/tickets/").content.decode()
    assert again.post("/portal/sign-out/").status_code == 302
    assert again.get("/portal/tickets/").status_code == 302


def test_a_frozen_redis_does_not_hang_signed_in_pages(desk_on, anna, boss, departments):
    open_ticket(subject="Still here", contact=anna)
    portal = portal_client("anna@northwind.example")
    agents = Client()
    agents.force_login(boss)
    portal.get("/portal/tickets/")
    agents.get("/admin/tickets/ticket/")

    desk_on.freeze()
    try:
        page = answered(lambda: portal.get("/portal/tickets/"))
        assert page.status_code == 200 and "Still here" in page.content.decode()
        page = answered(lambda: agents.get("/admin/tickets/ticket/"))
        assert page.status_code == 200 and "Still here" in page.content.decode()
        health = answered(lambda: Client().get("/healthz"))
        assert health.status_code == 200 and health.json()["redis"]["ok"] is False
    finally:
        desk_on.thaw()


def down_for_a_while(settings, desk_on, client: Client) -> None:
    """Freeze Redis and let a request find out: Redis is skipped from then on, so what
    is written meanwhile is never even sent to it."""
    settings.SUPPORTDESK_REDIS_RETRY_SECONDS = 3600
    desk_on.freeze()
    answered(lambda: client.get("/portal/tickets/"))
    assert redis_guard.is_down()


def back(desk_on) -> None:
    desk_on.thaw()
    redis_guard.mark_up()  # the retry pause is over


def test_a_session_signed_out_while_redis_was_away_stays_signed_out(
    settings, desk_on, anna, departments
):
    portal = portal_client("anna@northwind.example")
    assert portal.get("/portal/tickets/").status_code == 200
    cookie = portal.cookies["sessionid"].value  # kept by someone else too

    down_for_a_while(settings, desk_on, portal)
    try:
        assert answered(lambda: portal.post("/portal/sign-out/")).status_code == 302
    finally:
        back(desk_on)
    stolen = Client()
    stolen.cookies["sessionid"] = cookie
    response = stolen.get("/portal/tickets/")  # Redis still holds the old copy
    assert response.status_code == 302 and "/portal/sign-in/" in response["Location"]


def test_a_list_changed_while_redis_was_away_is_not_replayed_once_it_is_back(
    settings, desk_on, anna, departments
):
    ticket = open_ticket(subject="Zone transfer", contact=anna)
    portal = portal_client("anna@northwind.example")
    assert "Zone transfer" in portal.get("/portal/tickets/").content.decode()  # cached

    down_for_a_while(settings, desk_on, portal)
    try:
        page = answered(lambda: portal.get("/portal/tickets/")).content.decode()
        assert "Zone transfer" in page  # from the database
        answered(lambda: services.ticket_status_set(ticket=ticket, status=Status.OPEN))
    finally:
        back(desk_on)
    page = portal.get("/portal/tickets/").content.decode()
    assert "Open" in page.split("Zone transfer")[1][:80]


def test_healthz_reports_redis_and_the_broker(desk_on, departments):
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = desk_on.url
    celery_app.conf.broker_transport_options = {"socket_timeout": 1, "socket_connect_timeout": 1}
    try:
        health = Client().get("/healthz").json()
        assert health["status"] == "ok"
        assert health["redis"]["ok"] is True and health["broker"]["ok"] is True
        assert health["broker"]["transport"] == "redis"

        desk_on.stop()
        response = Client().get("/healthz")
        assert response.status_code == 200  # pages still work from the database
        health = response.json()
        assert health["status"] == "degraded" and health["database"]["ok"] is True
        assert health["redis"]["ok"] is False and health["broker"]["ok"] is False
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
