"""The views (queues) and their lists: sidebar counts, keyset pages, bulk actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets.models import Channel, Department, Severity, Status
from tickets.selectors import parse_reference

from .. import bulk, queues
from ..access import agent_required
from ..forms import SavedViewForm
from ..models import SavedView
from ..queues import View


def sidebar_context(request: HttpRequest, current: str = "") -> dict:
    views = queues.agent_views(request.user)
    return {"views": views, "current_view": current, "counts": {}}


def find_view(request: HttpRequest, key: str) -> tuple[View, list[View]]:
    views = queues.agent_views(request.user)
    for view in views:
        if view.key == key:
            return view, views
    raise Http404("No such view.")


@require_GET
@agent_required
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("workspace:view", args=["mine"]))


@require_GET
@agent_required
def view_list(request: HttpRequest, key: str) -> HttpResponse:
    """A view's first page (or, for htmx, the page after ``cursor``)."""
    view, views = find_view(request, key)
    now = timezone.now()
    cursor = request.GET.get("cursor", "")
    rows, next_cursor = queues.page(view.filters, request.user, now, cursor)
    context = {
        "view": view,
        "views": views,
        "current_view": view.key,
        "rows": rows,
        "tags": queues.row_tags(r.ticket_id for r in rows) if "tags" in view.columns else {},
        "next_cursor": next_cursor,
        "columns": [(c, queues.COLUMNS[c]) for c in view.columns],
        "now": now,
        "agents": get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .order_by("username"),
        "departments": Department.objects.filter(is_active=True),
        "statuses": [(s, label) for s, label in Status.choices if s != Status.MERGED],
        "severities": Severity.choices,
        "save_form": SavedViewForm(initial_view=view),
    }
    if request.headers.get("HX-Request") and cursor:
        return render(request, "workspace/lists/_rows.html", context)
    return render(request, "workspace/lists/view.html", context)


@require_GET
@agent_required
def counts(request: HttpRequest) -> HttpResponse:
    """The sidebar's live counts (polled by htmx)."""
    views = queues.agent_views(request.user)
    found = queues.bounded_counts(views, request.user, timezone.now())
    return render(
        request,
        "workspace/lists/_counts.html",
        {
            "views": views,
            "counts": found,
            "cap": queues.COUNT_CAP,
            "current_view": request.GET.get("current", ""),
        },
    )


@require_GET
@agent_required
def goto(request: HttpRequest) -> HttpResponse:
    """Open a ticket by its number (``SD-100001`` or ``100001``)."""
    number = parse_reference(request.GET.get("q", ""))
    if number is None:
        messages.error(request, _("Type a ticket number, e.g. SD-100001."))
        return HttpResponseRedirect(request.headers.get("Referer") or reverse("workspace:home"))
    return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))


@require_POST
@agent_required(change=True)
def bulk_action(request: HttpRequest) -> HttpResponse:
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


@require_POST
@agent_required
def view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return HttpResponseRedirect(request.POST.get("next") or reverse("workspace:home"))
    saved = form.save_for(request.user)
    messages.success(request, _("View “%(name)s” saved.") % {"name": saved.name})
    return HttpResponseRedirect(reverse("workspace:view", args=[f"saved-{saved.pk}"]))


@require_POST
@agent_required
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deleted, _n = SavedView.objects.filter(pk=pk, owner=request.user).delete()
    if not deleted:
        raise Http404("Only your own saved views can be deleted.")
    messages.success(request, _("View deleted."))
    return HttpResponseRedirect(reverse("workspace:home"))


CHANNEL_CHOICES = Channel.choices
