"""How often sign-in links may be asked for: per address and per IP, in fixed windows.

Without a limit, 20 requests mailed one customer 20 links. A request over a limit sends
nothing and gets the very same answer as any other (the page never tells whether an
address exists, nor whether it was limited). Counters live in the cache; if Redis is
away the limit is not applied (a sign-in link is only ever mailed to a verified
contact's own address) rather than signing nobody in.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

from supportdesk import redis_guard

log = logging.getLogger(__name__)


def sign_in_allowed(*, email: str, ip: str) -> bool:
    """Count this request against its address and IP; return whether it is within both."""
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    within_ip = _count(f"signin:ip:{ip}", settings.SUPPORTDESK_SIGN_IN_PER_IP, 3600)
    within_address = _count(
        f"signin:address:{address}", settings.SUPPORTDESK_SIGN_IN_PER_ADDRESS, 900
    )
    if not (within_ip and within_address):
        log.info(
            "sign-in link refused: over the limit for %s", "IP" if not within_ip else "address"
        )
    return within_ip and within_address


def _count(key: str, limit: int, window: int) -> bool:
    """Add one to the window's counter; return whether it is still at most ``limit``."""
    redis_guard.cache_call(cache.add, key, 0, timeout=window)
    count = redis_guard.cache_call(cache.incr, key, default=None)
    return count is None or count <= limit
