"""The address a request came from, for rate limits (sign-in links, admin lockouts)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's IP address (None when the request has none: a test's or a
    management command's).

    Behind ``SUPPORTDESK_TRUSTED_PROXIES`` proxies (docker-compose's TLS proxy: 1), it is
    the address the nearest of them saw, read from the right of X-Forwarded-For: the
    entries further left are whatever the client chose to send.
    """
    proxies = settings.SUPPORTDESK_TRUSTED_PROXIES
    if proxies > 0:
        chain = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [p for p in chain if p]
        if len(chain) >= proxies:
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR") or None
