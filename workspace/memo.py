"""Per-process memos of what the workspace's Python-written pages ask Django for
hundreds of times a page: translations of fixed msgids, and the URLs of routes.

A ticket page asks ``gettext`` ~120 times and ``reverse`` ~14 times; each costs
~10–60 µs (the active language looked up in a context-local, the catalogs searched one
by one; the URL resolver walked), together ~2 ms of a page's CPU (bench/desk_profile.py).
Both answers depend only on their arguments, the active language / script prefix and
the settings, which change only with the process or in tests (``setting_changed`` clears
the memos), so they are kept per process. Nothing of a ticket or an agent is kept here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import tzinfo
from typing import Any, NamedTuple, Protocol, TypeVar

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf
from django.urls import reverse as django_reverse
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext as django_gettext
from django.utils.translation import ngettext as django_ngettext

# msgids are the code's literals, URLs the workspace's routes with ids: bounded in
# practice, capped anyway (cleared when full).
LIMIT = 20000
_texts: dict[tuple[Any, ...], str] = {}
_urls: dict[tuple[Any, ...], str] = {}
# Numbers no route's URL holds otherwise, each replaced by its argument.
_STAND_IN = 987654321000000
# The settings that change what a translation or a route's URL is.
_SETTINGS = {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "ROOT_URLCONF", "INSTALLED_APPS"}
# Other modules' memos of translated or reversed text, cleared with these.
_clears: list[Callable[[], None]] = []


class _Clearable(Protocol):
    def cache_clear(self) -> None: ...


_Cleared = TypeVar("_Cleared", bound=_Clearable)


def cleared_with_settings(memo: _Cleared) -> _Cleared:
    """Register ``memo`` (an ``lru_cache``, or anything with ``cache_clear``) to be
    cleared with this module's memos when translation or URL settings change (tests)."""
    _clears.append(memo.cache_clear)
    return memo


class _Scope(NamedTuple):
    language: str | None
    prefix: str
    urlconf: Any
    zone: tzinfo
    zone_name: str


# The active language, script prefix, URL conf and time zone of the page being written,
# read once when it starts (page_scope). Each is a context-local of Django's (asgiref's
# Local: ~10-20 µs a look-up on this machine), and a ticket page asked for them ~90 times
# (gettext, reverse, every countdown and time); a ContextVar read is ~50 ns.
_SCOPE: ContextVar[_Scope | None] = ContextVar("workspace_page_scope", default=None)


@contextmanager
def page_scope() -> Iterator[None]:
    """Within: ``language()``, ``zone()``, ``zone_name()`` and the memos below answer
    what was active when the scope opened, without asking Django again. For the writing
    of one page, which activates no other language or zone meanwhile."""
    token = _SCOPE.set(
        _Scope(
            get_language(),
            get_script_prefix(),
            get_urlconf(),
            timezone.get_current_timezone(),
            timezone.get_current_timezone_name(),
        )
    )
    try:
        yield
    finally:
        _SCOPE.reset(token)


def language() -> str | None:
    """``get_language()``, from the page's scope if one is open."""
    scope = _SCOPE.get()
    return get_language() if scope is None else scope.language


def zone() -> tzinfo:
    """``timezone.get_current_timezone()``, from the page's scope if one is open."""
    scope = _SCOPE.get()
    return timezone.get_current_timezone() if scope is None else scope.zone


def zone_name() -> str:
    """``timezone.get_current_timezone_name()``, from the page's scope if one is open."""
    scope = _SCOPE.get()
    return timezone.get_current_timezone_name() if scope is None else scope.zone_name


def gettext(message: str) -> str:
    """``gettext(message)`` in the active language."""
    key = (language(), message)
    found = _texts.get(key)
    if found is None:
        if len(_texts) >= LIMIT:
            _texts.clear()
        with override(key[0]):  # the scope's language, whatever is active now
            found = _texts[key] = django_gettext(message)
    return found


def ngettext(singular: str, plural: str, number: int) -> str:
    """``ngettext`` in the active language."""
    key = (language(), singular, plural, number)
    found = _texts.get(key)
    if found is None:
        if len(_texts) >= LIMIT:
            _texts.clear()
        with override(key[0]):
            found = _texts[key] = django_ngettext(singular, plural, number)
    return found


def reverse(name: str, args: list[Any] | tuple[Any, ...] = ()) -> str:
    """``django.urls.reverse(name, args=args)``. Integer arguments (ticket numbers,
    message ids: a new one on almost every page) are filled into the route's URL,
    reversed once with stand-in numbers."""
    if not all(type(a) is int and a >= 0 for a in args):
        return django_reverse(name, args=args)
    scope = _SCOPE.get()
    if scope is None:
        key = (name, len(args), get_script_prefix(), get_urlconf())
    else:
        key = (name, len(args), scope.prefix, scope.urlconf)
    found = _urls.get(key)
    if found is None:
        if len(_urls) >= LIMIT:
            _urls.clear()
        stand_ins = [_STAND_IN + i for i in range(len(args))]
        found = django_reverse(name, urlconf=key[3], args=stand_ins)
        if (active := get_script_prefix()) != key[2] and found.startswith(active):
            found = key[2] + found[len(active) :]  # the scope's prefix
        _urls[key] = found
    for i, value in enumerate(args):
        found = found.replace(str(_STAND_IN + i), str(value), 1)
    return found


def clear() -> None:
    _texts.clear()
    _urls.clear()
    for clear_memo in _clears:
        clear_memo()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _SETTINGS:
        clear()
