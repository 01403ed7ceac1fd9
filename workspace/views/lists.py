"""The views (queues) and their lists: sidebar counts, keyset pages, bulk actions."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets.models import Channel
from tickets.selectors import parse_reference

from .. import bulk, choices, queues
from ..access import AgentRequest, agent_required
from ..forms import SavedViewForm
from ..listing import rows_html, views_html
from ..models import SavedView
from ..queues import View


def find_view(
    request: AgentRequest, key: str, groups: queues.Groups | None = None
) -> tuple[View, list[View]]:
    views = queues.agent_views(request.user, groups)
    for view in views:
        if view.key == key:
            return view, views
    raise Http404("No such view.")


@require_GET
@agent_required
def home(request: AgentRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("workspace:view", args=["mine"]))


@require_GET
@agent_required
def view_list(request: AgentRequest, key: str) -> HttpResponse:
    """A view's first page (or, for htmx, the page after ``cursor``)."""
    groups = queues.view_groups()
    view, views = find_view(request, key, groups)
    now = timezone.now()
    cursor = request.GET.get("cursor", "")
    rows, next_cursor = queues.page(view.filters, request.user, now, cursor)
    columns = [(c, queues.COLUMNS[c]) for c in view.columns]
    tags = queues.row_tags(r.ticket_id for r in rows) if "tags" in view.columns else {}
    context = {
        "view": view,
        "views": views,
        "current_view": view.key,
        "rows": rows,
        "rows_html": rows_html(rows, columns, now, tags),
        "views_html": views_html(views, None, view.key),
        "next_cursor": next_cursor,
        "columns": columns,
        "agents": choices.agent_choices(),
        "departments": [(pk, name) for pk, _slug, name in groups.departments],
        "statuses": choices.status_choices(),
        "severities": choices.severity_choices(),
    }
    if request.headers.get("HX-Request") and cursor:
        return render(request, "workspace/lists/_rows.html", context)
    return render(request, "workspace/lists/view.html", context)


@require_GET
@agent_required
def counts(request: AgentRequest) -> HttpResponse:
    """The sidebar's live counts (polled by htmx)."""
    views = queues.agent_views(request.user)
    # Saved views have no count: their filters may need no index, and one such count
    # could read every unsolved ticket on each poll of each agent.
    counted = [v for v in views if v.group != "saved"]
    found = queues.bounded_counts(counted, request.user, timezone.now())
    current = request.GET.get("current", "")
    return render(
        request, "workspace/lists/_counts.html", {"views_html": views_html(views, found, current)}
    )


@require_GET
@agent_required
def goto(request: AgentRequest) -> HttpResponse:
    """Open a ticket by its number (``SD-100001`` or ``100001``); other words are
    searched for in what customers wrote."""
    query = request.GET.get("q", "").strip()
    number = parse_reference(query)
    if number is None:
        if query:
            return HttpResponseRedirect(f"{reverse('workspace:search')}?{urlencode({'q': query})}")
        messages.error(request, _("Type a ticket number, e.g. SD-100001, or words to search."))
        return HttpResponseRedirect(request.headers.get("Referer") or reverse("workspace:home"))
    return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))


@require_POST
@agent_required(change=True)
def bulk_action(request: AgentRequest) -> HttpResponse:
    """Apply one action to the checked tickets, each through its service."""
    back = request.POST.get("next") or reverse("workspace:home")
    if not back.startswith("/"):
        back = reverse("workspace:home")
    outcome = bulk.apply(request.user, request.POST)
    if outcome.confirm is not None:
        return render(
            request, "workspace/lists/bulk_confirm.html", {**outcome.confirm, "next": back}
        )
    for text in outcome.errors:
        messages.error(request, text)
    if outcome.done:
        messages.success(request, outcome.summary)
    return HttpResponseRedirect(back)


@require_http_methods(["GET", "POST"])
@agent_required
def view_save(request: AgentRequest) -> HttpResponse:
    """Save a view: the form starts from the view the agent came from (``?from=key``)."""
    if request.method == "GET":
        source = None
        if key := request.GET.get("from", ""):
            source = find_view(request, key)[0]
        form = SavedViewForm(initial_view=source)
        return render(request, "workspace/lists/save_view.html", {"form": form, "source": source})
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        return render(request, "workspace/lists/save_view.html", {"form": form}, status=400)
    saved = form.save_for(request.user)
    messages.success(request, _("View “%(name)s” saved.") % {"name": saved.name})
    return HttpResponseRedirect(reverse("workspace:view", args=[f"saved-{saved.pk}"]))


@require_POST
@agent_required
def view_delete(request: AgentRequest, pk: int) -> HttpResponse:
    deleted, _n = SavedView.objects.filter(pk=pk, owner=request.user).delete()
    if not deleted:
        raise Http404("Only your own saved views can be deleted.")
    messages.success(request, _("View deleted."))
    return HttpResponseRedirect(reverse("workspace:home"))


CHANNEL_CHOICES = Channel.choices
