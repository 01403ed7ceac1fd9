"""The sign-in version: a token in the shared cache that changes whenever anything a
signed-in user is made of changes, so a worker may keep what it read of a user until then.

Every signed-in request used to read its user, their profile and their permissions from
PostgreSQL (workspace.auth.AgentBackend: one statement, ~17 % of a workspace counts
poll's CPU). A worker now keeps what it read per user (workspace.auth) and uses it again
only while this version is the one it read it under. The version is read **with the
session**, in the same Redis round trip (supportdesk.sessions: one MGET), so keeping costs
no extra call.

The version moves (a new random token, so a Redis restarted empty never brings back an
old one) on any save or delete of a user, group, permission or content type, on any change
of a user's groups or permissions or a group's permissions, and on what apps declare with
``changed()`` (the workspace's agent profiles). It moves at once **and** again after the
commit: a request that read the new token and then the old rows (the change not yet
committed) keeps them under a token the commit replaces. A deactivated user is therefore
refused on the very next request, and a removed permission takes effect at once.

Not seen: writes that send no signal (``QuerySet.update()``, raw SQL, ``bulk_create``);
``SUPPORTDESK_SIGNIN_KEEP_SECONDS`` bounds how long those go unnoticed. While Redis is
down nothing is kept (no version is read). A bump lost to a Redis failure is sent again
once Redis answers (``redis_guard``, ``retry=True``), and the bound covers other workers
reading in between.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware, auser
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .redis_guard import cache_call

# A cache key (the cache's KEY_PREFIX and version are added to it like any other).
VERSION_KEY = "supportdesk:signin-version"

# The version read with this request's session, while its user is being read.
_current: ContextVar[str | None] = ContextVar("signin_version", default=None)


def new_token() -> str:
    return secrets.token_hex(8)


def _bump() -> None:
    cache_call(cache.set, VERSION_KEY, new_token(), None, retry=True)


def changed(using: str | None = None) -> None:
    """Move the version now and again after the commit of the current transaction."""
    _bump()
    transaction.on_commit(_bump, using=using)


def current() -> str | None:
    """The version read with this request's session, while its user is being read (None:
    unknown, keep nothing)."""
    return _current.get()


@contextmanager
def reading_user(version: str | None) -> Iterator[None]:
    token = _current.set(version)
    try:
        yield
    finally:
        _current.reset(token)


def _user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        session: Any = request.session
        # The user's id is in the session: loading it (one MGET) reads the version too.
        session._get_session()
        with reading_user(getattr(session, "signin_version", None)):
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class SigninAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, with the sign-in version read with the session
    handed to the backend that reads the user."""

    def process_request(self, request: HttpRequest) -> None:
        if not hasattr(request, "session"):
            raise ImproperlyConfigured("SessionMiddleware must come before this one.")
        request.user = SimpleLazyObject(lambda: _user(request))  # type: ignore[assignment]
        request.auser = partial(auser, request)


def _on_change(sender: Any, using: str | None = None, **kwargs: Any) -> None:
    action = kwargs.get("action")  # m2m_changed: pre_add, post_add, …
    if action is None or action.startswith("post_"):
        changed(using)


def connect_receivers() -> None:
    """Move the version on every change of what a signed-in user is made of (called once,
    from the project's AppConfig.ready)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    user_model = get_user_model()
    for model in (user_model, Group, Permission, ContentType):
        label = model._meta.label_lower
        post_save.connect(_on_change, sender=model, dispatch_uid=f"signin.save.{label}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"signin.delete.{label}")
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        label = through._meta.label_lower
        m2m_changed.connect(_on_change, sender=through, dispatch_uid=f"signin.m2m.{label}")
