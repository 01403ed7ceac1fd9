"""How integrations prove who they are: a bearer token, or an HMAC-SHA256 signed body.

Token: ``Authorization: Token <token>``.
Signature: ``X-SupportDesk-Integration: <name>``, ``X-SupportDesk-Timestamp: <unix seconds>``
and ``X-SupportDesk-Signature: sha256=<hex>`` where the hex is
HMAC-SHA256(secret, "<timestamp>." + raw body). Timestamps older than five minutes are
refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from .models import Integration, hash_token

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
        if not secret:
            raise exceptions.AuthenticationFailed(
                "Unknown integration: send X-SupportDesk-Integration with your integration name."
            )
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            raise exceptions.AuthenticationFailed(
                "X-SupportDesk-Timestamp must be the current Unix time (within 5 minutes)."
            )
        expected = sign(secret, stamp, request.body)
        if not hmac.compare_digest(expected, signature.strip()):
            raise exceptions.AuthenticationFailed(
                "Signature mismatch: sign '<timestamp>.<raw body>' with HMAC-SHA256."
            )
        return integration, integration

    def authenticate_header(self, request: Request) -> str:
        return "SupportDesk-HMAC"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the ``sha256=<hex>`` signature of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


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
