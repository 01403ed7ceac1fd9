"""ESP inbound webhook posts go straight to their view, past the browser middleware.

A delivery is a machine's POST with basic auth (and maybe the ESP's signature): it has no
session, no language, no CSRF token (its views are exempt), no signed-in user, no flash
messages and no page to frame. The middleware for those cost about a quarter of a
delivery's CPU (sessions, locale, common, CSRF, auth, messages, the portal's locale,
axes, clickjacking: ~0.5 ms of ~2.2 in process), at 200 deliveries a second beside the
worker on two cores (issue 16's burst). This middleware sits after the checks every
request needs (health probe, security, unusable characters) and answers the inbound
webhook URLs itself; anything else, or a path it cannot resolve, goes on down the chain.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

# Set on the inbound views by ``email.webhooks.inbound_view`` (kept by the wrappers).
MARK = "supportdesk_inbound_webhook"
PREFIX = "/anymail/"


class InboundWebhooksDirect:
    """Call an inbound webhook's view for a POST to it, without the middleware below."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info.startswith(PREFIX):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)  # a missing slash, a typo: as before
            # Only our inbound views, and only CSRF-exempt ones: nothing below would have
            # let another view's POST through unchanged.
            if getattr(match.func, MARK, False) and getattr(match.func, "csrf_exempt", False):
                request.resolver_match = match
                # An exception becomes the same 400/500 answer as below: Django wraps
                # every middleware in convert_exception_to_response.
                return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
