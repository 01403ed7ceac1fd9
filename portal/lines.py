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

from tickets.lines import default_line
from tickets.models import SupportLine

SESSION_KEY = "portal_line"


def _host(request: HttpRequest) -> str:
    return request.get_host().rsplit(":", 1)[0].lower()


def line_hint(request: HttpRequest) -> str:
    """Return what picks the line without reading it (cache keys of portal pages)."""
    return f"{_host(request)}|{request.session.get(SESSION_KEY, '')}"


def portal_line(request: HttpRequest) -> SupportLine:
    """Return the request's support line (read once per request)."""
    cached = getattr(request, "_support_line", None)
    if cached is not None:
        return cached
    chosen = request.session.get(SESSION_KEY, "")
    rows = list(SupportLine.objects.filter(Q(portal_host=_host(request)) | Q(slug=chosen)))
    by_host = next((r for r in rows if r.portal_host and r.portal_host == _host(request)), None)
    by_path = next((r for r in rows if r.slug == chosen), None)
    contact = getattr(request, "contact", None)
    own = (
        contact.account.line if contact and contact.account_id and contact.account.line_id else None
    )
    line = by_host or by_path or own or default_line()
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
    """Template context: ``support_line``, read only when a template uses it."""
    from django.utils.functional import SimpleLazyObject

    return {"support_line": SimpleLazyObject(lambda: portal_line(request))}
