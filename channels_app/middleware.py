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
from django.urls import Resolver404, ResolverMatch, get_resolver, get_urlconf

# Set on the inbound views by ``email.webhooks.inbound_view`` (kept by the wrappers).
MARK = "supportdesk_inbound_webhook"
PREFIX = "/anymail/"
# The inbound webhooks' paths as resolved, by URLconf (a changed URLconf has a new
# resolver: its paths are resolved again). Only our marked views are kept, a few paths.
_MATCHES: dict[tuple[object, str], ResolverMatch] = {}
_MATCHES_KEPT = 64


def _inbound_match(path: str) -> ResolverMatch | None:
    """The match of an inbound webhook's path, or None for any other path. Resolving
    walked the whole URLconf on every delivery (~a fifth of its view's CPU in process)."""
    resolver = get_resolver(get_urlconf())
    match = _MATCHES.get((resolver, path))
    if match is None:
        try:
            match = resolver.resolve(path)
        except Resolver404:
            return None  # a missing slash, a typo: left to the chain, as before
        # Only our inbound views, and only CSRF-exempt ones: nothing below would have
        # let another view's POST through unchanged.
        if not (getattr(match.func, MARK, False) and getattr(match.func, "csrf_exempt", False)):
            return None
        if len(_MATCHES) < _MATCHES_KEPT:
            _MATCHES[(resolver, path)] = match
    # Shared by the path's requests: nothing on these views' path writes to it.
    return match


class InboundWebhooksDirect:
    """Call an inbound webhook's view for a POST to it, without the middleware below."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info.startswith(PREFIX):
            match = _inbound_match(request.path_info)
            if match is not None:
                request.resolver_match = match
                # An exception becomes the same 400/500 answer as below: Django wraps
                # every middleware in convert_exception_to_response.
                return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
