"""Ticket-list pages served from the cache until anything they show changes.

The portal's, the API's and the admin's ticket lists are the pages reloaded all day, and
building one costs several ORM queries and a template over 50 rows: ~5–30 ms of CPU,
where a page read back from Redis costs ~0.3 ms. Every cached page is stored under one
*lists version*, a counter in the cache that any write to what a list shows moves on:

* ``tickets.events.record_events`` (every service change to a ticket, single or batch,
  including the bulk inserts of an email import) calls ``lists_changed``;
* ``post_save`` / ``post_delete`` of the models a list shows (tickets, accounts,
  contacts and their addresses, departments, agents) and of API integrations (a cached
  API answer stands for a token that was valid) do too — admin edits and deletions.

The version moves on once per transaction, when it commits: every request that starts
after the commit renders the page anew (a reader that started before it stores what it
read under the old number, which is already outdated). The version is global, so a busy
desk renders more often than a quiet one — it never shows rows older than the last
commit. Entries also expire after ``SUPPORTDESK_LIST_CACHE_SECONDS`` as a net for writes
outside Django.

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
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.utils.translation import get_language

log = logging.getLogger(__name__)

VERSION_KEY = "lists:version"
_CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+(")')
_CSRF_PLACEHOLDER = b"\x00csrf-token\x00"
_KEPT_HEADERS = ("Content-Type", "Cache-Control", "Expires", "Vary", "Content-Language")


def enabled() -> bool:
    return settings.SUPPORTDESK_LIST_CACHE_SECONDS > 0


def lists_changed() -> None:
    """Say that something a ticket list shows changed: cached lists are rendered anew."""
    if not enabled():
        return
    # When the transaction commits (outside one: at once). Not before: a reader that saw
    # the new number but the old rows would store them under it.
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no version yet (a fresh or flushed cache): nothing is cached
            cache.add(VERSION_KEY, 1, timeout=None)
    except Exception:  # noqa: BLE001 - the cache being down must not fail the write
        log.warning("could not move the ticket lists' cache version on", exc_info=True)


def cached_page(
    request: HttpRequest, key: str, render: Callable[[], HttpResponseBase]
) -> HttpResponseBase:
    """Return the page ``render()`` makes for ``key``, from the cache while it is current.

    ``key`` must name everything the page depends on besides the lists' data: who asks
    (contact, agent, token) and the full URL. One entry per key, stamped with the version
    it was rendered at, so the version and the entry come back in one round trip.
    """
    if not enabled() or request.method != "GET" or len(get_messages(request)):
        return render()
    digest = hashlib.sha256(f"{get_language()}\n{key}".encode()).hexdigest()
    page_key = f"lists:page:{digest}"
    try:
        found = cache.get_many([VERSION_KEY, page_key])
        version = found.get(VERSION_KEY)
        if version is None:  # a fresh or flushed cache
            cache.add(VERSION_KEY, 1, timeout=None)
            version = cache.get(VERSION_KEY, 1)
    except Exception:  # noqa: BLE001 - no cache: the view answers as it would without one
        log.warning("ticket list cache unavailable", exc_info=True)
        return render()
    stored = found.get(page_key)
    if stored is not None and stored["version"] == version:
        return _replay(request, stored)
    response = render()
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    # The CSRF cookie a view may set is set again on every replay (get_token); any other
    # cookie is about this one request, and so is a page that sets one.
    cookies = set(response.cookies) - {settings.CSRF_COOKIE_NAME}
    if response.status_code == 200 and not response.streaming and not cookies:
        frozen = {
            "version": version,  # read before rendering: a bump meanwhile outdates it
            "content": _CSRF_VALUE.sub(rb"\1" + _CSRF_PLACEHOLDER + rb"\2", response.content),
            "headers": [(k, response[k]) for k in _KEPT_HEADERS if response.has_header(k)],
        }
        try:
            cache.set(page_key, frozen, settings.SUPPORTDESK_LIST_CACHE_SECONDS)
        except Exception:  # noqa: BLE001
            log.warning("could not cache a ticket list", exc_info=True)
    return response


def _replay(request: HttpRequest, stored: dict[str, Any]) -> HttpResponse:
    content: bytes = stored["content"]
    if _CSRF_PLACEHOLDER in content:
        content = content.replace(_CSRF_PLACEHOLDER, get_token(request).encode())
    response = HttpResponse(content)
    for name, value in stored["headers"]:
        response[name] = value
    return response


def watch(*models: type) -> None:
    """Move the lists version on whenever a row of these models is saved or deleted."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        post_save.connect(_changed, sender=model, dispatch_uid=f"lists-{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"lists-del-{model._meta.label}")


def _changed(**_: Any) -> None:
    lists_changed()
