"""Which support line the portal serves a request for: by host, by path, by contact.

A line with a ``portal_host`` owns that host name. Elsewhere ``/portal/line/<slug>/``
chooses a line for the browser session (a link each brand puts on its site); a signed-in
contact of a line's account gets that line; the default line serves the rest. The line
names the phone number, the texts and the departments the portal shows and submits to.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from tickets.models import SupportLine

SESSION_KEY = "portal_line"


def _host(request: HttpRequest) -> str:
    return request.get_host().rsplit(":", 1)[0].lower()


def line_hint(request: HttpRequest) -> str:
    """Return what picks the line without reading it (cache keys of portal pages)."""
    return f"{_host(request)}|{request.session.get(SESSION_KEY, '')}"


def portal_line(request: HttpRequest, *, remember: bool = True) -> SupportLine:
    """Return the request's support line (one query, once per request; ``remember=False``
    before the view knows the signed-in contact)."""
    cached = getattr(request, "_support_line", None)
    if cached is not None:
        return cached
    host, chosen = _host(request), request.session.get(SESSION_KEY, "")
    contact = getattr(request, "contact", None)
    account = contact.account if contact is not None and contact.account_id else None
    own = account.line_id if account is not None else None
    wanted = Q(is_default=True) | Q(portal_host=host) | Q(slug=chosen) | Q(pk=own)
    rows = list(SupportLine.objects.filter(wanted))
    line = (
        next((r for r in rows if r.portal_host and r.portal_host == host), None)
        or next((r for r in rows if chosen and r.slug == chosen), None)
        or next((r for r in rows if own and r.pk == own), None)
        or next((r for r in rows if r.is_default), None)
        # A desk without any line (being set up): pages still render, without line texts.
        or SupportLine(name="Support", slug="")
    )
    if remember:
        request._support_line = line  # type: ignore[attr-defined]
    return line


@require_GET
def line_select(request: HttpRequest, slug: str) -> HttpResponse:
    """Serve this line's portal to the browser from now on (``/portal/line/<slug>/``)."""
    if not SupportLine.objects.filter(slug=slug).exists():
        raise Http404("No such support line.")
    request.session[SESSION_KEY] = slug
    return HttpResponseRedirect(reverse("portal:home"))


def line_context(request: HttpRequest) -> dict:
    """Template context: ``support_line`` and its ``portal_languages`` (read only when a
    template uses them) and the ``time_zone_name`` the page's times are in."""
    from django.utils import timezone
    from django.utils.functional import SimpleLazyObject

    from .i18n import portal_languages

    return {
        "support_line": SimpleLazyObject(lambda: portal_line(request)),
        "portal_languages": SimpleLazyObject(lambda: portal_languages(request)),
        "time_zone_name": timezone.get_current_timezone_name(),
    }
