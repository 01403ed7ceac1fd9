"""Request checks at the door, and error pages that never show internals to customers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers

from . import health
from .errors import bad_request, server_error

log = logging.getLogger("django.request")
# NUL cannot be stored in PostgreSQL text, and a lone surrogate cannot be encoded at all.
_UNUSABLE = re.compile("[\x00\ud800-\udfff]")


class HealthProbeAnyHost:
    """Answer ``/healthz`` whatever the Host header says.

    The container's probe asks ``http://127.0.0.1:8000/healthz``; with ``ALLOWED_HOSTS``
    naming only the public host, Django would refuse that Host (400) and the orchestrator
    would restart a healthy web container. The probe's answer holds nothing host-specific.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            return health.healthz(request)
        return self.get_response(request)


class RefuseUnusableCharacters:
    """Answer 400 to a URL or query string holding NUL or a lone surrogate.

    Such a value reaches no view: it would fail as soon as it met the database (a 500).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        texts = [request.path, *request.GET.keys()]
        texts += [value for values in request.GET.lists() for value in values[1]]
        if any(_UNUSABLE.search(text) for text in texts):
            return bad_request(request, "The URL holds a NUL or an invalid character.")
        return self.get_response(request)


class PlainErrorsForCustomers:
    """With DEBUG on (the demo), only signed-in staff see Django's debug page for an
    error; customers, integrations and everyone else get the plain error page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not settings.DEBUG or isinstance(exc, Http404 | PermissionDenied):
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return None
        log.error("Internal Server Error: %s", request.path, exc_info=exc)
        return server_error(request)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware, without its URL-prefix work where no URL has a language
    prefix (``i18n_patterns``; none in this project).

    Django's looks for a language in the path twice a request (once more for a 404),
    a regular expression and a look-up whose answer is then unused without language
    prefixes: ~7 % of a workspace counts poll's CPU for the whole middleware. Here, with
    no prefixed URLs, the request's language comes from the cookie or Accept-Language
    (``get_language_from_request``, as Django's does then) and the answer gets the same
    ``Vary: Accept-Language`` and ``Content-Language``. With prefixed URLs, Django's own.
    """

    # Synchronous only (its own __call__): Django adapts it under ASGI.
    async_capable = False

    def __call__(self, request: HttpRequest) -> Any:
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        if is_language_prefix_patterns_used(urlconf)[0]:  # cached per URLconf
            return super().__call__(request)
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
        response: Any = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
