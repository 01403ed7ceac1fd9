"""Ticket-list pages served from the cache until anything they show changes.

The portal's, the API's and the admin's ticket lists are the pages reloaded all day, and
building one costs several ORM queries and a template over 50 rows: ~5–30 ms of CPU,
where a page read back from Redis costs ~0.3 ms.

Who may see a page is never the cache's business: a view authenticates the request and
checks its permission first, then asks ``cached_page`` with the *principal* it
authenticated (an ``Integration``, a ``User``, a ``Contact`` — a row loaded for this
request, never a header), and the entry is kept per principal and URL. So a cached page
cannot answer a request its view would have refused.

A cached page records the *versions* of the scopes it was built from — counters in the
cache that writes move on (``webcache.receivers`` watches them):

* ``ALL`` — every change below: the agents' and the API's lists show every ticket;
* ``DIRECTORY`` — accounts, contacts and their addresses, departments, agents and their
  groups and permissions (``post_save`` / ``post_delete``): names on every list, and the
  links an agent's page shows;
* ``account_scope(id)`` / ``contact_scope(id)`` — tickets of that account / contact:
  every committed ticket change (``tickets.signals.ticket_events``, single or batch,
  including an email import's bulk inserts) and ticket saves and deletions (admin edits).
  A save that may move a ticket to another account or contact moves ``DIRECTORY`` on too.

A customer's portal list depends on ``DIRECTORY`` and its own contact and account scopes
only, so a desk busy with other customers' tickets keeps replaying it.

Versions move on once the change committed, never before: a reader that saw a new number
with the old rows would store them under it. Versions are read before a page's rows are,
so a page stored from rows older than a commit carries a number that commit outdated;
every request after a commit's announcement renders anew. Entries also expire after
``SUPPORTDESK_LIST_CACHE_SECONDS`` as a net for writes outside Django.

A page is rendered once per change: a request that finds it being rendered by another
process waits for that render. The agents' list, which every ticket change outdates,
answers such requests with the copy from before the change instead (``stale_seconds``,
at most 5 s old); the agent who made the change gets a fresh one anyway, because the
admin's redirect after a save carries a message.

Only active with a cache every process shares (Redis, ``CACHE_URL``/``REDIS_URL``): with
the embedded demo's per-process memory cache the web server would never see the worker's
bumps, so ``SUPPORTDESK_LIST_CACHE_SECONDS`` is 0 (off) there.

What differs per request is never cached: the CSRF token in a page's forms is stored as a
placeholder and a fresh one is put in on every answer; a request with messages to show,
anything but GET, and any answer but 200 go straight to the view.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeGuard

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.utils.translation import get_language

from supportdesk import redis_guard

log = logging.getLogger(__name__)

ALL = "all"
DIRECTORY = "directory"
_CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+(")')
_CSRF_PLACEHOLDER = b"\x00csrf-token\x00"
_KEPT_HEADERS = ("Content-Type", "Cache-Control", "Expires", "Vary", "Content-Language")
_FORMAT = 4  # of stored pages: another release's entries are other keys
_RENDER_LOCK_SECONDS = 10  # a render lock a crashed process left behind expires
_RENDER_WAIT = 0.5  # seconds a request waits for another's render before doing its own


def account_scope(account_id: int) -> str:
    return f"account:{account_id}"


def contact_scope(contact_id: int) -> str:
    return f"contact:{contact_id}"


def enabled() -> bool:
    return settings.SUPPORTDESK_LIST_CACHE_SECONDS > 0


def tickets_changed(owners: Iterable[tuple[int | None, int | None]]) -> None:
    """Say that tickets of these ``(account_id, contact_id)`` pairs changed."""
    scopes = set()
    for account_id, contact_id in owners:
        if account_id is not None:
            scopes.add(account_scope(account_id))
        if contact_id is not None:
            scopes.add(contact_scope(contact_id))
    lists_changed(scopes)


def lists_changed(scopes: Collection[str] = ()) -> None:
    """Say that what ``scopes`` (and so ``ALL``) cover changed: their pages render anew."""
    if not enabled():
        return
    keys = [_version_key(s) for s in {ALL, *scopes}]
    transaction.on_commit(lambda: _bump(keys))


# Each key: start at the clock if missing (see ``_versions``), then move on by one.
_BUMP = (
    "for _, key in ipairs(KEYS) do "
    "redis.call('SET', key, ARGV[1], 'NX') redis.call('INCR', key) end "
    "return #KEYS"
)


def _version_key(scope: str) -> str:
    return f"lists:v:{scope}"


def _bump(keys: list[str]) -> None:
    """Move the versions on. The cache being down must not fail the write: the bump is
    then sent again once Redis is back, before anything else is read from it."""
    redis_guard.cache_call(_send_bump, keys, retry=True)


def _send_bump(keys: list[str]) -> None:
    """Move the versions on; a missing one starts at the clock (see ``_versions``)."""
    client = cache.client.get_client(write=True) if hasattr(cache, "client") else None
    if client is None:  # not Redis (the tests' in-process cache)
        for key in keys:
            try:
                cache.incr(key)
            except ValueError:
                cache.add(key, time.time_ns(), timeout=None)
        return
    # One command however many scopes a batch touched (an import's batch: hundreds). A
    # pipeline of SET NX + INCR per key cost the worker ~25 µs of redis-py packing a key,
    # ~10 ms a batch; the script's loop runs in Redis (~0.7 ms of ours for 400 keys).
    client.eval(_BUMP, len(keys), *(cache.make_key(key) for key in keys), time.time_ns())


def _versions(scopes: Collection[str], found: dict[str, Any] | None = None) -> dict[str, int]:
    """Return the current version of each scope, starting the missing ones.

    A version starts at the clock in nanoseconds, not at 0 or 1: a counter Redis lost
    (a restart, an eviction) must not come back at a number an old page was stored with.
    """
    if found is None:
        found = cache.get_many([_version_key(s) for s in scopes])
    versions = {s: found.get(_version_key(s)) for s in scopes}
    missing = [s for s, v in versions.items() if v is None]
    if missing:
        for scope in missing:
            cache.add(_version_key(scope), time.time_ns(), timeout=None)
        again = cache.get_many([_version_key(s) for s in missing])
        versions |= {s: again.get(_version_key(s)) for s in missing}
    if None in versions.values():  # a cache that keeps nothing: never store or replay
        raise RuntimeError("the cache did not keep a ticket lists version")
    return {s: int(v) for s, v in versions.items() if v is not None}  # all: checked above


def cached_page(
    request: HttpRequest,
    *,
    principal: Model,
    scopes: Collection[str],
    render: Callable[[], HttpResponseBase],
    stale_seconds: float = 0,
    variant: str = "",
) -> HttpResponseBase:
    """Return the page ``render()`` makes for ``principal`` and this URL, from the cache
    while it is current.

    Call it only after the request was authenticated and its permission checked, with
    the row that authentication loaded (``request.auth``, ``request.user``, the portal's
    contact): the entry is kept per principal and absolute URL (filters, cursor, host),
    so it is only ever replayed to the one who was allowed to see it. ``scopes`` are
    the scopes the page shows; the entry and their versions come back in one round trip.

    ``stale_seconds``: while another process renders the page anew, answer with the
    outdated copy if it is at most this old, instead of waiting for the render. For lists
    that many people reload at once (the agents'), where a save's own redirect carries a
    message and so always renders: the person who changed something sees it at once.

    ``variant``: what else the page depends on besides principal, URL and language (the
    portal's support line chosen by path, the customer's time zone).
    """
    if not enabled() or request.method != "GET" or len(get_messages(request)):
        return render()
    if redis_guard.is_down():  # a page from the database, at once
        return render()
    if principal.pk is None or not getattr(principal, "is_authenticated", True):
        return render()  # nobody authenticated: nothing to key a page on
    digest = _digest(principal, request.build_absolute_uri() + (f"\n{variant}" if variant else ""))
    page_key = f"lists:page:{_FORMAT}:{digest}"
    try:
        redis_guard.flush_pending()  # versions moved on while Redis was away come first
        found = cache.get_many([page_key, *(_version_key(s) for s in scopes)])
        known = _versions(scopes, found)
        stored = found.get(page_key)
        if _usable(stored) and _current(stored["deps"], known):
            return _replay(request, stored)
    except Exception as exc:  # noqa: BLE001 - no cache: the view answers as without one
        redis_guard.mark_down(exc)
        return render()
    # One render per page and change: a request finding the page being rendered by
    # another process waits for that (a few ms) instead of rendering it a second time.
    lock = f"lists:rendering:{digest}"
    rendering_elsewhere = not redis_guard.cache_call(
        cache.add, lock, 1, timeout=_RENDER_LOCK_SECONDS, default=True
    )
    if rendering_elsewhere:
        if _usable(stored) and time.time() - stored["rendered_at"] <= stale_seconds:
            return _replay(request, stored)
        if (waited := _wait_for(page_key, lock, scopes)) is not None:
            return _replay(request, waited)
    try:
        response = render()
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        _keep(page_key, known, response)
    finally:
        # Only after the page is kept: a request waiting on the mark that finds neither
        # mark nor page renders it a second time.
        if not rendering_elsewhere:
            redis_guard.cache_call(cache.delete, lock)
    return response


def _keep(page_key: str, known: dict[str, int], response: HttpResponseBase) -> None:
    """Store a rendered page for replay, unless it carries something about this request."""
    # The CSRF cookie a view may set is set again on every replay (get_token); any other
    # cookie is about this one request, and so is a page that sets one.
    cookies = set(response.cookies) - {settings.CSRF_COOKIE_NAME}
    if response.status_code == 200 and isinstance(response, HttpResponse) and not cookies:
        frozen = {
            "deps": known,  # read before the rows: a commit meanwhile outdates them
            "rendered_at": time.time(),
            "content": _CSRF_VALUE.sub(rb"\1" + _CSRF_PLACEHOLDER + rb"\2", response.content),
            "headers": [(k, response[k]) for k in _KEPT_HEADERS if response.has_header(k)],
        }
        # The page was rendered: it is answered whether or not it can be kept.
        redis_guard.cache_call(cache.set, page_key, frozen, settings.SUPPORTDESK_LIST_CACHE_SECONDS)


def _digest(principal: Model, url: str) -> str:
    """Name the entry of ``principal``'s page at ``url`` in the current language."""
    key = f"{get_language()}\n{principal._meta.label_lower}:{principal.pk}\n{url}"
    return hashlib.sha256(key.encode()).hexdigest()


def _wait_for(page_key: str, lock: str, scopes: Collection[str]) -> dict[str, Any] | None:
    """Return the page another process is rendering once it is stored and current, or
    None when that process is done without it or takes longer than ``_RENDER_WAIT``."""
    deadline = time.monotonic() + _RENDER_WAIT
    try:
        while time.monotonic() < deadline:
            time.sleep(0.005)
            found = cache.get_many([page_key, lock, *(_version_key(s) for s in scopes)])
            stored = found.get(page_key)
            if _usable(stored) and _current(stored["deps"], _versions(scopes, found)):
                return stored
            if lock not in found:
                return None
    except Exception as exc:  # noqa: BLE001
        redis_guard.mark_down(exc)
    return None


def _usable(stored: Any) -> TypeGuard[dict[str, Any]]:
    """Whether ``stored`` is a page entry of this format (not left by another release)."""
    keys = {"deps", "rendered_at", "content", "headers"}
    return isinstance(stored, dict) and keys <= stored.keys()


def _current(deps: dict[str, int], known: dict[str, int]) -> bool:
    """Whether every scope the stored page showed is still at the version it was read at."""
    unknown = [s for s in deps if s not in known]
    if unknown:
        known = {**known, **_versions(unknown)}
    return all(known[s] == v for s, v in deps.items())


def _replay(request: HttpRequest, stored: dict[str, Any]) -> HttpResponse:
    content: bytes = stored["content"]
    if _CSRF_PLACEHOLDER in content:
        content = content.replace(_CSRF_PLACEHOLDER, get_token(request).encode())
    response = HttpResponse(content)
    for name, value in stored["headers"]:
        response[name] = value
    return response
