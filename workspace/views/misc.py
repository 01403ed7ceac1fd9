"""The front door, the agent's settings and notifications."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import search as customer_search
from ..access import AgentRequest, agent_required, is_agent
from ..forms import ProfileForm
from ..models import Notification

BADGE_LIMIT = 20


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    """``/``: agents to the workspace, everyone else to the customer portal."""
    if is_agent(request.user):
        return HttpResponseRedirect(reverse("workspace:home"))
    return HttpResponseRedirect(reverse("portal:home"))


@require_GET
@agent_required
def search(request: AgentRequest) -> HttpResponse:
    """Tickets whose subject or customers' messages contain the words typed."""
    query = request.GET.get("q", "").strip()
    hits = customer_search.search_customer_text(query) if query else []
    context = {"query": query, "hits": hits, "limit": customer_search.RESULTS}
    return render(request, "workspace/search.html", context)


@require_http_methods(["GET", "POST"])
@agent_required
def settings_view(request: AgentRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.agent_profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Settings saved."))
        return HttpResponseRedirect(reverse("workspace:settings"))
    return render(request, "workspace/settings.html", {"form": form})


@require_GET
@agent_required
def notifications(request: AgentRequest) -> HttpResponse:
    items = list(
        Notification.objects.filter(recipient=request.user, in_workspace=True)
        .select_related("ticket")
        .order_by("-id")[:100]
    )
    response = render(request, "workspace/notifications.html", {"items": items})
    Notification.objects.filter(recipient=request.user, read_at=None).update(read_at=timezone.now())
    return response


@require_GET
@agent_required
def notifications_poll(request: AgentRequest) -> JsonResponse:
    """Unread notifications newer than ``after`` (the page plays a sound and shows a
    browser notification for them) and the unread count, bounded."""
    after = request.GET.get("after", "0")
    unread = Notification.objects.filter(recipient=request.user, read_at=None)
    fresh = list(
        unread.filter(pk__gt=int(after) if after.isdigit() else 0)
        .select_related("ticket")
        .order_by("-id")[:5]
    )
    count = unread.order_by()[: BADGE_LIMIT + 1].count()
    profile = request.agent_profile
    return JsonResponse(
        {
            "unread": count,
            "capped": count > BADGE_LIMIT,
            "latest": max([n.pk for n in fresh], default=int(after) if after.isdigit() else 0),
            "sound": profile.sound,
            "browser": profile.browser_notifications,
            "items": [
                {
                    "id": n.pk,
                    "text": n.text,
                    "url": reverse("workspace:ticket", args=[n.ticket.number])
                    if n.ticket is not None
                    else reverse("workspace:notifications"),
                }
                for n in fresh
            ],
        }
    )


@require_POST
@agent_required
def notifications_read(request: AgentRequest) -> HttpResponse:
    Notification.objects.filter(recipient=request.user, read_at=None).update(read_at=timezone.now())
    return HttpResponseRedirect(reverse("workspace:notifications"))
