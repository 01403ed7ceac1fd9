"""How integrations prove who they are: a bearer token, or an HMAC-SHA256 signed request.

Token: ``Authorization: Token <token>``.
Signature: ``X-SupportDesk-Integration: <name>``, ``X-SupportDesk-Timestamp: <unix seconds>``
and ``X-SupportDesk-Signature: sha256=<hex>`` where the hex is HMAC-SHA256(secret, the
*signing string*)::

    <timestamp>\n<METHOD>\n<path>\n<query string>\n<raw body>

— the request's method (``GET``), path (``/api/v1/tickets/``), query string as sent
without the ``?`` (empty if none) and body bytes, so a signature is good for that one
request only. Timestamps more than five minutes off are refused, and a signature is
accepted once: the same one again within the window is a replay (401). Sign every
attempt anew, with its own timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from .models import Integration, SeenSignature, hash_token

MAX_SKEW_SECONDS = 300
SIGNATURE_HEADER = "HTTP_X_SUPPORTDESK_SIGNATURE"


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"token", b"bearer"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Token <token>'.")
        token = header[1].decode("latin-1")
        integration = Integration.objects.filter(
            token_sha256=hash_token(token), is_active=True
        ).first()
        if integration is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        return integration, integration

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HmacSignatureAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request):
        signature = request.META.get(SIGNATURE_HEADER)
        if not signature:
            return None
        name = request.META.get("HTTP_X_SUPPORTDESK_INTEGRATION", "")
        stamp = request.META.get("HTTP_X_SUPPORTDESK_TIMESTAMP", "")
        integration = Integration.objects.filter(name=name, is_active=True).first()
        secret = (integration.hmac_secret if integration else "") or (
            settings.SUPPORTDESK_API_HMAC_SECRETS.get(name, "") if integration else ""
        )
        if integration is None or not secret:
            raise exceptions.AuthenticationFailed(
                "Unknown integration: send X-SupportDesk-Integration with your integration name."
            )
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            raise exceptions.AuthenticationFailed(
                "X-SupportDesk-Timestamp must be the current Unix time (within 5 minutes)."
            )
        expected = sign(
            secret,
            stamp,
            request.body,
            method=request.method or "",
            path=request.path,
            query=request.META.get("QUERY_STRING", ""),
        )
        if not hmac.compare_digest(expected, signature.strip()):
            raise exceptions.AuthenticationFailed(
                "Signature mismatch: sign '<timestamp>\\n<METHOD>\\n<path>\\n<query>\\n<raw "
                "body>' with HMAC-SHA256 (see the API documentation)."
            )
        _first_use(expected, integration)
        return integration, integration

    def authenticate_header(self, request: Request) -> str:
        return "SupportDesk-HMAC"


def sign(
    secret: str, timestamp: str, body: bytes, *, method: str, path: str, query: str = ""
) -> str:
    """Return the ``sha256=<hex>`` signature of a request sent at ``timestamp``."""
    head = f"{timestamp}\n{method.upper()}\n{path}\n{query}\n".encode()
    digest = hmac.new(secret.encode(), head + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def _first_use(signature: str, integration: Integration) -> None:
    """Remember ``signature``; refuse it if it was seen within the window (a replay).

    Kept in the database, not the cache: a replay must be refused whatever Redis does.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            SeenSignature.objects.create(
                signature=signature.removeprefix("sha256="), integration=integration, seen_at=now
            )
            # Older ones can no longer pass the timestamp check: forget them.
            old = now - timedelta(seconds=2 * MAX_SKEW_SECONDS)
            SeenSignature.objects.filter(seen_at__lt=old).delete()
    except IntegrityError as exc:
        raise exceptions.AuthenticationFailed(
            "This signed request was already received (a replay): sign each request anew, "
            "with its own timestamp."
        ) from exc


class IsIntegration(permissions.BasePermission):
    """Allow authenticated integrations that hold the view's scope (``required_scope``)."""

    message = "This integration may not do that; ask an admin to grant the permission."

    def has_permission(self, request: Request, view) -> bool:
        integration = request.auth
        if not isinstance(integration, Integration):
            return False
        scope = getattr(view, "required_scope", None)
        if isinstance(scope, dict):
            scope = scope.get(request.method)
        return scope is None or bool(getattr(integration, scope, False))
