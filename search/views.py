"""The search pages: the agents' (``/desk/search/``) and the customers' (``/portal/search/``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from kb.search import article_search
from portal.auth import ContactRequest, contact_required
from portal.selectors import portal_tickets
from tickets.models import Ticket
from tickets.text import parse_reference
from workspace.access import AgentRequest, agent_required

from .forms import SearchForm
from .selectors import AGENTS, Scope, ticket_search

PORTAL_PAGE = 20


@require_GET
@agent_required
def desk_search(request: AgentRequest) -> HttpResponse:
    """Search every ticket (with internal notes) under the agent's filters."""
    form = SearchForm(request.GET or None, zone=request.agent_zone)
    page = None
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["q"]
        if jump := _exact_reference(text):
            return jump
        page = ticket_search(
            text,
            filters=form.filters(),
            scope=AGENTS,
            page=form.cleaned_data.get("page") or 1,
        )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "search/desk.html",
        {
            "form": form,
            "page": page,
            "base_query": params.urlencode(),
            "zone": request.agent_zone.key,
        },
    )


def _exact_reference(text: str) -> HttpResponse | None:
    """Open the ticket at once when the box holds a full reference (``SD-100001``) of a
    ticket that exists: the workspace's old "open ticket number" box, kept."""
    number = parse_reference(text, settings.SUPPORTDESK_TICKET_PREFIX, bare=False)
    if number is not None and Ticket.objects.filter(number=number).exists():
        return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))
    return None


@require_GET
@contact_required
def portal_search(request: ContactRequest) -> HttpResponse:
    """Search the signed-in customer's own tickets (never internal notes) and the KB."""
    contact = request.contact
    text = request.GET.get("q", "")[:200]
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    visible = portal_tickets(contact).values("pk")
    scope = Scope(visible=Q(pk__in=visible), notes=False)
    page = ticket_search(text, scope=scope, page=number, page_size=PORTAL_PAGE)
    articles = article_search(text, limit=5) if text.strip() else []
    more = "?" + urlencode({"q": text, "page": number + 1}) if page.more else ""
    return render(
        request,
        "search/portal.html",
        {"contact": contact, "q": text, "page": page, "articles": articles, "more": more},
    )
