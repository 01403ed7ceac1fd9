"""The views (queues) and their lists: sidebar counts, keyset pages, bulk actions."""

from __future__ import annotations

from html import escape
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets.models import Channel
from tickets.selectors import parse_reference

from .. import bulk, choices, memo, queues, shell
from ..access import AgentRequest, agent_required
from ..counts import kept_counts
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
    # The agent's language, zone and the URL prefix read once for the whole page.
    with memo.page_scope():
        return _view_list(request, key)


def _view_list(request: AgentRequest, key: str) -> HttpResponse:
    user = request.user
    bar = queues.sidebar(user, agents=True)
    view = next((v for v in bar.views if v.key == key), None)
    if view is None:
        raise Http404("No such view.")
    now = timezone.now()
    cursor = request.GET.get("cursor", "")
    rows, next_cursor = queues.page_rows(view.filters, user, now, cursor)
    columns = [(c, queues.COLUMNS[c]) for c in view.columns]
    tags = queues.row_tags(r.ticket_id for r in rows) if "tags" in view.columns else {}
    body = rows_html(rows, columns, now, tags, viewer=user.pk) + more_row(
        next_cursor, len(columns) + 2
    )
    if request.headers.get("HX-Request") and cursor:
        return HttpResponse(body)
    # The page around the rows is kept per agent, language and view (workspace/shell.py):
    # the key holds everything the shell shows besides the markers filled below.
    language = memo.language()
    departments = [(pk, name) for pk, _slug, name in bar.groups.departments]
    can_dashboards = user.has_perm("reports.view_dashboard")
    shell_key = (
        user.pk,
        language,
        request.agent_zone.key,
        user.get_full_name(),
        user.get_username(),
        can_dashboards,
        view,
        str(view.label),
        tuple(departments),
        tuple(bar.agents),
    )
    context = {
        "view": view,
        "current_view": view.key,
        "columns": columns,
        "agents": bar.agents,
        "departments": departments,
        # Called by the template only when the shell is rendered, not on every request.
        "statuses": choices.status_choices,
        "severities": choices.severity_choices,
    }
    parts = shell.shell(shell_key, request, "workspace/lists/view.html", context)
    values = shell.common_values(request)
    values["views_html"] = views_html(bar.views, None, view.key)
    values["rows_html"] = body
    values["empty_html"] = "" if rows else EMPTY_HTML % escape(memo.gettext(EMPTY))
    return HttpResponse(shell.fill(parts, values))


EMPTY = gettext_noop("Nothing here: every ticket of this view is handled.")
EMPTY_HTML = '<p class="empty">%s</p>'
MORE = gettext_noop("More tickets")


def more_row(cursor: str, width: int) -> str:
    """The last row of a page that has a next one: a link that loads it (htmx)."""
    if not cursor:
        return ""
    href = escape(f"?cursor={quote(cursor)}")
    return (
        f'<tr class="more"><td colspan="{width}"><a href="{href}" hx-get="{href}" '
        f'hx-target="closest tr" hx-swap="outerHTML">{escape(memo.gettext(MORE))}</a></td></tr>'
    )


@require_GET
@agent_required
def counts(request: AgentRequest) -> HttpResponse:
    """The sidebar's live counts (polled by htmx): kept between changes of the read
    model (workspace/counts.py)."""
    bar = queues.sidebar(request.user, version=True)
    views = bar.views
    # Saved views have no count: their filters may need no index, and one such count
    # could read every unsolved ticket on each poll of each agent.
    counted = [v for v in views if v.group != "saved"]
    found = kept_counts(counted, request.user, timezone.now(), bar.version)
    return HttpResponse(views_html(views, found, request.GET.get("current", "")))


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
