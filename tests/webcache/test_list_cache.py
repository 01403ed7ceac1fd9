"""Cached ticket lists: replayed while current, rendered anew after any change they show.

Runs in both passes: on Redis in the real one (every process shares it), on the
in-process memory cache in the embedded one (where the desk itself keeps the cache off
because its worker is another process; here the test is that one process).
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory

from portal.services import contact_remove
from tests.factories import AccountFactory, AgentFactory, ContactFactory, open_ticket
from tests.portal.conftest import sign_in_link
from tickets import services
from tickets.models import Department, Status
from tickets.services import MessageIn, TicketOpen, tickets_open
from webcache import list_cache

# Real commits: lists move on when a transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.SUPPORTDESK_LIST_CACHE_SECONDS = 60


@pytest.fixture
def someone(db):
    """An agent to key test pages on."""
    return AgentFactory(username="someone")


@pytest.fixture
def signed_in(anna) -> Client:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/portal/sign-in/").content.decode()
    client.post(
        "/portal/sign-in/",
        {"email": anna.emails.get().email, "csrfmiddlewaretoken": TOKEN.search(page)[1]},
    )
    link = sign_in_link()
    page = client.get(link).content.decode()
    client.post(link, {"csrfmiddlewaretoken": TOKEN.search(page)[1]})
    return client


def test_portal_list_is_replayed_until_a_ticket_changes(
    signed_in, anna, departments, session_reads, django_assert_num_queries
):
    ticket = open_ticket(subject="Zone transfer stuck", contact=anna)
    assert "Zone transfer stuck" in signed_in.get("/portal/tickets/").content.decode()
    # Replayed: no rows read; only the contact is, to check it may still sign in (and the
    # session, without Redis).
    with django_assert_num_queries(session_reads + 1):
        page = signed_in.get("/portal/tickets/").content.decode()
    assert "Zone transfer stuck" in page and "Open" not in page.split("Zone transfer")[1][:80]

    services.ticket_status_set(ticket=ticket, status=Status.OPEN)
    page = signed_in.get("/portal/tickets/").content.decode()
    assert "Open" in page.split("Zone transfer stuck")[1][:80]

    open_ticket(subject="Second problem", contact=anna)
    assert "Second problem" in signed_in.get("/portal/tickets/").content.decode()


def test_other_customers_tickets_leave_a_portal_list_replayed(
    signed_in, anna, boss, departments, session_reads, django_assert_num_queries
):
    other = ContactFactory(account=AccountFactory(), email="o@other.example", verified=True)
    agents = Client()
    agents.force_login(boss)
    open_ticket(subject="Anna's own", contact=anna)
    signed_in.get("/portal/tickets/")
    agents.get("/admin/tickets/ticket/")

    open_ticket(subject="Someone else's", contact=other)
    # Anna's list shows nothing of that account: replayed, no rows read.
    with django_assert_num_queries(session_reads + 1):
        assert "Anna&#x27;s own" in signed_in.get("/portal/tickets/").content.decode()
    # The agents' list shows every ticket: rendered anew.
    assert "Someone else" in agents.get("/admin/tickets/ticket/").content.decode()


def test_a_colleagues_ticket_renders_the_owners_list_anew(signed_in, anna, reseller, departments):
    open_ticket(subject="Anna's own", contact=anna)
    signed_in.get("/portal/tickets/")
    bert = ContactFactory(account=reseller, name="Bert", email="bert@nw.example", verified=True)
    signed_in.get("/portal/tickets/")  # (a new contact is a directory change: rendered)
    open_ticket(subject="Bert's problem", contact=bert)
    assert "Bert&#x27;s problem" in signed_in.get("/portal/tickets/").content.decode()


def test_a_batch_of_new_tickets_renders_the_lists_anew(signed_in, anna, departments):
    signed_in.get("/portal/tickets/")
    tickets_open(
        [
            TicketOpen(
                subject=f"Imported {n}",
                department=departments["customer-support"],
                contact=anna,
                message=MessageIn(channel="email", body_text="x", author_contact=anna),
            )
            for n in range(2)
        ]
    )
    page = signed_in.get("/portal/tickets/").content.decode()
    assert "Imported 0" in page and "Imported 1" in page


def test_a_removed_contact_gets_no_cached_page(signed_in, anna, reseller, departments):
    bert = ContactFactory(account=reseller, name="Bert", email="bert@nw.example", verified=True)
    open_ticket(subject="Bert's ticket", contact=bert)
    bert_client = Client()
    session = bert_client.session
    session["portal_contact_id"] = bert.pk
    session.save()
    assert "Bert&#x27;s ticket" in bert_client.get("/portal/tickets/").content.decode()

    contact_remove(owner=anna, contact=bert)
    response = bert_client.get("/portal/tickets/")
    assert response.status_code == 302 and "/portal/sign-in/" in response["Location"]


def test_each_replay_carries_a_fresh_working_csrf_token(signed_in, anna, departments):
    open_ticket(subject="Anything", contact=anna)
    first = TOKEN.search(signed_in.get("/portal/tickets/").content.decode())[1]
    replayed = signed_in.get("/portal/tickets/").content.decode()
    token = TOKEN.search(replayed)[1]
    assert token != first and "csrf-token" not in replayed
    # The replayed page's sign-out form works (the client enforces CSRF checks).
    response = signed_in.post("/portal/sign-out/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert signed_in.get("/portal/tickets/").status_code == 302  # signed out: no replay


def test_a_page_with_messages_to_show_is_not_cached_or_replayed(someone):
    request = RequestFactory().get("/portal/tickets/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    messages.success(request, "Your reply was added.")
    calls = []

    def render() -> HttpResponse:
        calls.append(1)
        return HttpResponse(b"page")

    list_cache.cached_page(request, principal=someone, scopes=[list_cache.ALL], render=render)
    list_cache.cached_page(request, principal=someone, scopes=[list_cache.ALL], render=render)
    assert len(calls) == 2


def test_admin_list_is_per_agent_and_still_checks_access(boss, departments):
    ticket = open_ticket(subject="Agent view")
    # Everyone signs in first: a sign-in saves the user, which renders the lists anew.
    clients = {}
    for user in (boss, AgentFactory(username="carol", is_superuser=True), AgentFactory()):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    boss_client, carol_client, plain_client = clients.values()

    assert "Agent view" in boss_client.get("/admin/tickets/ticket/").content.decode()
    page = carol_client.get("/admin/tickets/ticket/").content.decode()
    assert "<strong>carol</strong>" in page and "<strong>boss</strong>" not in page
    # A staff member without the permission is refused, cached pages or not.
    assert plain_client.get("/admin/tickets/ticket/").status_code == 403

    # An edit saved in the admin (a plain save, no service) renders the list anew.
    department = Department.objects.get(pk=ticket.department_id)
    department.name = "Renamed department"
    department.save()
    assert "Renamed department" in boss_client.get("/admin/tickets/ticket/").content.decode()


def page(url: str, principal, render, *, stale_seconds: float = 0):
    """Ask the cache for ``principal``'s page at ``url`` (http://testserver…)."""
    return list_cache.cached_page(
        RequestFactory().get(url),
        principal=principal,
        scopes=[list_cache.ALL],
        render=render,
        stale_seconds=stale_seconds,
    )


def being_rendered(url: str, principal) -> None:
    """Leave the mark of another process rendering this page now."""
    digest = list_cache._digest(principal, f"http://testserver{url}")
    cache.add(f"lists:rendering:{digest}", 1, timeout=60)


def test_a_page_being_rendered_elsewhere_is_waited_for_not_rendered_twice(someone, monkeypatch):
    # A loaded CI machine may be slow to finish the first render: the wait is long enough
    # here that only the rule (wait, do not render again) decides the outcome.
    monkeypatch.setattr(list_cache, "_RENDER_WAIT", 10)
    renders = []
    rendering = threading.Event()

    def slow_render() -> HttpResponse:
        renders.append(1)
        rendering.set()
        time.sleep(0.2)
        return HttpResponse(b"rows")

    first: list[HttpResponse] = []
    other = threading.Thread(target=lambda: first.append(page("/x/", someone, slow_render)))
    other.start()
    assert rendering.wait(10)  # the other request is rendering now
    second = page("/x/", someone, slow_render)
    other.join()
    assert len(renders) == 1
    assert second.content == first[0].content == b"rows"


def test_the_render_mark_stays_until_the_page_is_kept(someone, monkeypatch):
    """A request waiting on another's render finds the page, even when keeping it is slow:
    the mark is lifted after the page is stored, not between render and store."""
    monkeypatch.setattr(list_cache, "_RENDER_WAIT", 10)
    cache_call = list_cache.redis_guard.cache_call

    def slow_store(fn, *args, **kwargs):
        if getattr(fn, "__name__", "") == "set":
            time.sleep(0.3)  # a loaded machine between the render and the store
        return cache_call(fn, *args, **kwargs)

    monkeypatch.setattr(list_cache.redis_guard, "cache_call", slow_store)
    renders = []
    rendering = threading.Event()

    def render() -> HttpResponse:
        renders.append(1)
        rendering.set()
        return HttpResponse(b"rows")

    first: list[HttpResponse] = []
    other = threading.Thread(target=lambda: first.append(page("/x4/", someone, render)))
    other.start()
    assert rendering.wait(10)
    second = page("/x4/", someone, render)
    other.join()
    assert len(renders) == 1
    assert second.content == first[0].content == b"rows"


def test_a_render_left_unfinished_elsewhere_delays_a_request_only_briefly(someone):
    page("/x2/", someone, HttpResponse)
    list_cache.lists_changed()  # the stored page is outdated
    being_rendered("/x2/", someone)  # a process died rendering it
    began = time.monotonic()
    response = page("/x2/", someone, lambda: HttpResponse(b"mine"))
    assert response.content == b"mine" and time.monotonic() - began < 2


def test_an_entry_it_cannot_read_is_rendered_over(someone):
    digest = list_cache._digest(someone, "http://testserver/x3/")
    cache.set(f"lists:page:{list_cache._FORMAT}:{digest}", {"content": b"old format"}, 60)
    calls = []

    def render() -> HttpResponse:
        calls.append(1)
        return HttpResponse(b"fresh")

    for _ in range(2):
        assert page("/x3/", someone, render).content == b"fresh"
    assert len(calls) == 1  # rendered over the unreadable entry, then replayed


def test_a_list_being_rendered_anew_answers_with_its_recent_copy_if_allowed(someone):
    def content(body: bytes, stale: float) -> bytes:
        return page("/x4/", someone, lambda: HttpResponse(body), stale_seconds=stale).content

    assert content(b"before", 5) == b"before"
    list_cache.lists_changed()  # a ticket changed: the copy is outdated
    being_rendered("/x4/", someone)  # another process renders it now
    assert content(b"after", 5) == b"before"  # the agents' list: the copy from just before
    assert content(b"after", 0) == b"after"  # others wait for the render, then do their own


def test_pages_are_kept_per_principal(someone, departments):
    other = AgentFactory(username="other")
    assert page("/x5/", someone, lambda: HttpResponse(b"mine")).content == b"mine"
    assert page("/x5/", someone, lambda: HttpResponse(b"again")).content == b"mine"
    assert page("/x5/", other, lambda: HttpResponse(b"theirs")).content == b"theirs"


def test_nobody_signed_in_is_never_served_from_the_cache(departments):
    from django.contrib.auth.models import AnonymousUser

    nobody = AnonymousUser()
    assert page("/x6/", nobody, lambda: HttpResponse(b"one")).content == b"one"
    assert page("/x6/", nobody, lambda: HttpResponse(b"two")).content == b"two"


def test_a_permission_granted_to_an_agent_shows_in_the_next_list(departments):
    from django.contrib.auth.models import Permission

    agent = AgentFactory(username="erin")
    agent.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = Client()
    client.force_login(agent)
    assert "/admin/tickets/account/" not in client.get("/admin/tickets/ticket/").content.decode()

    agent.user_permissions.add(Permission.objects.get(codename="view_account"))
    assert "/admin/tickets/account/" in client.get("/admin/tickets/ticket/").content.decode()


def test_a_version_the_cache_lost_comes_back_at_a_number_no_page_carries():
    scope = list_cache.account_scope(987654)
    before = list_cache._versions([scope])[scope]
    list_cache.lists_changed([scope])
    moved = list_cache._versions([scope])[scope]
    assert moved == before + 1
    cache.delete(list_cache._version_key(scope))  # Redis restarted or evicted it
    list_cache.lists_changed([scope])
    assert list_cache._versions([scope])[scope] > moved


def test_one_bump_moves_every_scope_on_by_one_and_starts_the_missing_at_the_clock():
    # An import's batch bumps hundreds of scopes at once (one script call on Redis).
    kept, lost = list_cache.account_scope(424242), list_cache.contact_scope(424242)
    others = [list_cache.contact_scope(500_000 + i) for i in range(100)]
    before = list_cache._versions([kept, *others])
    cache.delete(list_cache._version_key(lost))
    started = time.time_ns()
    list_cache._send_bump([list_cache._version_key(s) for s in (kept, lost, *others)])
    after = list_cache._versions([kept, lost, *others])
    assert after[kept] == before[kept] + 1
    assert all(after[s] == before[s] + 1 for s in others)
    assert after[lost] >= started + 1  # from the clock, past any number a page carries
