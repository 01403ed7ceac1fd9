"""Sessions read from Redis and written through to the database, that outlive Redis.

Django's ``cached_db`` engine reads a session from the cache and falls back to the
database, but some of its cache calls are unguarded: with Redis stopped a signed-in page
is a 500, and with Redis frozen it hangs. Here every cache call goes through
``redis_guard.cache_call``: while Redis is down, sessions are read from and written to
the database alone (which always has them: every save writes it first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore

from . import signin
from .redis_guard import cache_call

if TYPE_CHECKING:
    from django.contrib.sessions.models import Session
    from django.core.cache.backends.base import BaseCache


class SessionStore(CachedDBStore):
    # Django's own (private) members this engine builds on; django-stubs leaves them out.
    _cache: BaseCache
    _session: dict[str, Any]
    _get_session_from_db: Callable[[], Session | None]

    # The sign-in version read with the session (supportdesk/signin.py); None: unknown.
    signin_version: str | None = None

    def load(self) -> dict[str, Any]:
        # One round trip for the session and the sign-in version.
        found = cache_call(self._cache.get_many, [self.cache_key, signin.VERSION_KEY])
        data, version = (
            (None, None)
            if found is None
            else (found.get(self.cache_key), found.get(signin.VERSION_KEY))
        )
        if found is not None and version is None:
            # None yet (or Redis restarted empty): start one. If another process got there
            # first, nothing is kept this time.
            token = signin.new_token()
            if cache_call(self._cache.add, signin.VERSION_KEY, token, None):
                version = token
        self.signin_version = version
        if data is None:
            stored = self._get_session_from_db()
            if not stored:
                return {}
            data = self.decode(stored.session_data)
            age = self.get_expiry_age(expiry=stored.expire_date)
            cache_call(self._cache.set, self.cache_key, data, age)
        return data

    def exists(self, session_key: str) -> bool:
        key = self.cache_key_prefix + session_key if session_key else ""
        if key and cache_call(self._cache.has_key, key):
            return True
        return DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        DBStore.save(self, must_create)
        cache_call(self._cache.set, self.cache_key, self._session, self.get_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        DBStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        # Retried once Redis is back: a thawed Redis must not keep a signed-out session.
        cache_call(self._cache.delete, self.cache_key_prefix + session_key, retry=True)
