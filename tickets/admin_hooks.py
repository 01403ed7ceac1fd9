"""What other apps add to the ticket admin: list filters, inlines, panels, the list's cache
and the search.

``tickets`` imports nothing from the apps around it, so an app registers its pieces here
from its ``AppConfig.ready()`` (``duplicates`` its filter and flag inline, ``sla`` its
deadlines panel) and ``tickets.admin.TicketAdmin`` reads them on each request.
Registering the same object twice is a no-op, so a second ``ready()`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponseBase
from django.utils.safestring import SafeString

from .models import Ticket


@dataclass(frozen=True)
class TicketPanel:
    """A titled block of (already escaped) HTML shown on the ticket page."""

    title: str
    html: SafeString
    css_id: str = ""


PanelBuilder = Callable[[HttpRequest, Ticket], TicketPanel | None]
# (request, render) -> response: serves the ticket list page, e.g. from a cache.
ListWrapper = Callable[[HttpRequest, Callable[[], HttpResponseBase]], HttpResponseBase]

_LIST_FILTERS: list[Any] = []
_INLINES: list[type[admin.options.InlineModelAdmin]] = []
_PANELS: list[PanelBuilder] = []
_LIST_WRAPPERS: list[ListWrapper] = []
# (queryset, search term) -> the tickets the term finds; None leaves it to Django's search.
TicketSearch = Callable[[Any, str], Any]
_SEARCH: list[TicketSearch] = []


def register_list_filter(list_filter: Any) -> Any:
    """Add a ``list_filter`` entry (a field name or a ListFilter class) to the ticket list."""
    if list_filter not in _LIST_FILTERS:
        _LIST_FILTERS.append(list_filter)
    return list_filter


def register_inline(inline: type[admin.options.InlineModelAdmin]) -> type:
    """Add an inline (whose model points at Ticket) to the ticket page."""
    if inline not in _INLINES:
        _INLINES.append(inline)
    return inline


def register_ticket_panel(builder: PanelBuilder) -> PanelBuilder:
    """Add a panel to the ticket page; ``builder(request, ticket)`` returns it or None."""
    if builder not in _PANELS:
        _PANELS.append(builder)
    return builder


def register_ticket_search(search: TicketSearch) -> TicketSearch:
    """Let ``search(queryset, term)`` answer the ticket list's search box (the last one
    registered wins); it returns the matching part of ``queryset``, or None to leave the
    term to the admin's own ``search_fields``."""
    _SEARCH[:] = [search]
    return search


def ticket_search() -> TicketSearch | None:
    """Return the registered ticket search, if any."""
    return _SEARCH[0] if _SEARCH else None


def register_ticket_list_wrapper(wrapper: ListWrapper) -> ListWrapper:
    """Serve the ticket list through ``wrapper(request, render)``; it is called only after
    the agent's permission to view tickets was checked (``webcache`` caches the page)."""
    if wrapper not in _LIST_WRAPPERS:
        _LIST_WRAPPERS.append(wrapper)
    return wrapper


def list_filters() -> tuple[Any, ...]:
    """Return the registered list filters, in registration order."""
    return tuple(_LIST_FILTERS)


def inlines() -> tuple[type[admin.options.InlineModelAdmin], ...]:
    """Return the registered inline classes, in registration order."""
    return tuple(_INLINES)


def panels(request: HttpRequest, ticket: Ticket) -> list[TicketPanel]:
    """Return the panels the registered builders make for ``ticket``."""
    return [panel for builder in _PANELS if (panel := builder(request, ticket)) is not None]


def ticket_list(request: HttpRequest, render: Callable[[], HttpResponseBase]) -> HttpResponseBase:
    """Return the ticket list page through the registered wrappers (innermost first)."""
    for wrapper in _LIST_WRAPPERS:
        render = (lambda w, inner: lambda: w(request, inner))(wrapper, render)
    return render()


def admin_user(request: HttpRequest) -> User:
    """Return the user of an admin request: the admin site lets only active staff in."""
    return cast(User, request.user)
