"""Request checks at the door, and error pages that never show internals to customers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from .errors import bad_request, server_error

log = logging.getLogger("django.request")
# NUL cannot be stored in PostgreSQL text, and a lone surrogate cannot be encoded at all.
_UNUSABLE = re.compile("[\x00\ud800-\udfff]")


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
