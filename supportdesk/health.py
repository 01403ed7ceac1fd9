"""Liveness/readiness probe used by docker-compose and load balancers.

Reports the database, Redis (cache and sessions), the Celery broker and the IMAP
mailboxes (a stalled or failing one makes the answer ``degraded``). Only the
database makes the desk unable to serve (503); without Redis or the broker pages still
work from the database and raw arrivals are stored (beat re-queues them), so the answer
is 200 with ``"status": "degraded"`` and what is wrong.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

BROKER_CHECK_SECONDS = 3


def healthz(request: HttpRequest) -> JsonResponse:
    """Return 200 when the database answers (``degraded`` without Redis or broker)."""
    report = {"database": _database(), "redis": _redis(), "broker": _broker()}
    report["mailboxes"] = _mailboxes() if report["database"]["ok"] else {"ok": None}
    if report["database"]["ok"] is not True:
        status, code = "error", 503
    elif all(part["ok"] is not False for part in report.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse({"status": status, **report}, status=code)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "vendor": connection.vendor}


def _redis() -> dict:
    """Ping the cache's Redis (within its socket timeouts); ``ok`` None: none configured."""
    if not hasattr(cache, "client"):
        return {"ok": None, "detail": "no Redis cache configured (per-process memory)"}
    try:
        cache.client.get_client(write=True).ping()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc) or type(exc).__name__}
    return {"ok": True}


def _broker() -> dict:
    from supportdesk.celery import app

    transport = str(app.conf.broker_url).split("://", 1)[0]
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_CHECK_SECONDS)
            if transport.startswith("redis"):
                cast(Any, conn.default_channel).client.ping()  # the Redis channel's client
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "transport": transport, "error": str(exc) or type(exc).__name__}
    return {"ok": True, "transport": transport}


def _mailboxes() -> dict:
    """Each mailbox's state (no error text: this answer is public); ``ok`` False when one
    is stalled or failing, None when there are none."""
    from mailboxes.health import PROBLEMS, mailboxes_health

    try:
        health = [h for h in mailboxes_health() if h.state != "inactive"]
    except Exception as exc:  # noqa: BLE001 - health must answer whatever broke
        return {"ok": False, "error": type(exc).__name__}
    if not health:
        return {"ok": None, "detail": "no IMAP mailboxes"}
    return {
        "ok": not any(h.state in PROBLEMS for h in health),
        "mailboxes": [h.public() for h in health],
    }
