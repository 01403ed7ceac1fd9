"""The admin's front page leads agents to the workspace; configuration stays in the admin.

``/admin/`` redirects to the workspace; ``/admin/?config=1`` (the workspace's
"Configuration" link, and the admin's breadcrumbs once there) shows the admin's index.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

CONFIG_PARAMETER = "config"


def admin_lands_in_workspace(site: AdminSite) -> None:
    if getattr(site, "_lands_in_workspace", False):
        return
    index = site.index

    def workspace_index(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if CONFIG_PARAMETER not in request.GET:
            return HttpResponseRedirect(reverse("workspace:home"))
        return index(request, extra_context)

    site.index = workspace_index  # type: ignore[method-assign, assignment]  # may redirect
    site._lands_in_workspace = True  # type: ignore[attr-defined]
