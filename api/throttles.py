"""Request rates for the API: per integration, and per address for unauthenticated calls.

DRF's throttles keep their history in the cache; here every cache call is guarded like
the sessions' (a Redis outage lets requests through instead of answering 500), and the
rates are read from the settings on each request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from supportdesk import redis_guard
from supportdesk.client_ip import client_ip

from .models import Integration


class _GuardedCache:
    def get(self, key: str, default: Any = None) -> Any:
        return redis_guard.cache_call(lambda: cache.get(key, default), default=default)

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        redis_guard.cache_call(cache.set, key, value, timeout)


class IntegrationRateThrottle(SimpleRateThrottle):
    """``SUPPORTDESK_API_RATE`` requests per integration (e.g. ``600/min``)."""

    cache: Any = _GuardedCache()  # the get and set the throttles call, guarded
    scope = "integration"

    def get_rate(self) -> str:
        return settings.SUPPORTDESK_API_RATE

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not isinstance(request.auth, Integration):
            return None  # the anonymous throttle's
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class AddressRateThrottle(AnonRateThrottle):
    """``SUPPORTDESK_API_ANON_RATE`` unauthenticated requests per client address."""

    cache: Any = _GuardedCache()  # the get and set the throttles call, guarded

    def get_rate(self) -> str:
        return settings.SUPPORTDESK_API_ANON_RATE

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if isinstance(request.auth, Integration):
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}
