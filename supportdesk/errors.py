"""Error answers: JSON under /api/, the plain page elsewhere; and what a debug page hides."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.debug import SafeExceptionReporterFilter


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: the API answers JSON, as it does for every other error."""
    if _is_api(request):
        return JsonResponse(
            {"detail": "Server error: the request could not be completed. It was logged."},
            status=500,
        )
    return defaults.server_error(request, template_name)


def bad_request(request: HttpRequest, detail: str) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": detail}, status=400)
    return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")


class ReporterFilter(SafeExceptionReporterFilter):
    """Django's filter also hides the settings that hold service URLs with passwords."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|_URL$|DATABASES|CACHES", flags=re.I
    )
