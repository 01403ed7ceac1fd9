"""OAuth2 for Google and Microsoft 365 mailboxes: refresh tokens in, access tokens out.

The refresh token (stored encrypted) is traded at the provider's token endpoint for an
access token, which is kept (encrypted, with its expiry) until shortly before it expires,
so a poll a minute does not ask the provider every minute. Microsoft may hand out a new
refresh token with each answer: it replaces the stored one. The standard library's
urllib is enough for one form POST; the timeout keeps a slow provider from holding a poll.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from django.utils import timezone

from . import crypto
from .imap import MailboxError
from .models import AuthMethod, Mailbox

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"  # noqa: S105
MICROSOFT_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
GOOGLE_SCOPE = "https://mail.google.com/"
# An access token this close to its expiry is refreshed before use.
EARLY = timedelta(seconds=120)
TIMEOUT_SECONDS = 20


class OAuthError(MailboxError):
    """The provider refused the refresh (revoked, expired, wrong client) or did not answer."""


def token_url(mailbox: Mailbox) -> str:
    if mailbox.oauth_token_url:
        return mailbox.oauth_token_url
    if mailbox.auth == AuthMethod.MICROSOFT:
        return MICROSOFT_TOKEN_URL.format(tenant=mailbox.oauth_tenant or "organizations")
    return GOOGLE_TOKEN_URL


def access_token(mailbox: Mailbox) -> str:
    """Return a valid access token for ``mailbox``, refreshing (and saving) it if needed."""
    now = timezone.now()
    if (
        mailbox.oauth_access_token_encrypted
        and mailbox.oauth_access_expires_at
        and mailbox.oauth_access_expires_at - EARLY > now
    ):
        return crypto.decrypt(mailbox.oauth_access_token_encrypted)
    refresh = mailbox.refresh_token()
    if not refresh:
        raise OAuthError(
            f"Mailbox {mailbox.name} has no OAuth2 refresh token: connect the account first."
        )
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": mailbox.oauth_client_id,
    }
    if secret := mailbox.oauth_client_secret():
        form["client_secret"] = secret
    if mailbox.auth == AuthMethod.MICROSOFT:
        form["scope"] = MICROSOFT_SCOPE
    answer = _post(token_url(mailbox), form)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthError(f"The token endpoint gave no access token: {_short(answer)}")
    lifetime = int(answer.get("expires_in") or 3600)
    mailbox.oauth_access_token_encrypted = crypto.encrypt(token)
    mailbox.oauth_access_expires_at = now + timedelta(seconds=lifetime)
    fields = ["oauth_access_token_encrypted", "oauth_access_expires_at"]
    if isinstance(new_refresh := answer.get("refresh_token"), str) and new_refresh:
        mailbox.oauth_refresh_token_encrypted = crypto.encrypt(new_refresh)
        fields.append("oauth_refresh_token_encrypted")
    Mailbox.objects.filter(pk=mailbox.pk).update(**{f: getattr(mailbox, f) for f in fields})
    return token


def _post(url: str, form: dict[str, str]) -> dict:
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(  # noqa: S310 - an https URL of the provider (or the admin's)
        url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}")
        except ValueError:
            detail = {}
        reason = detail.get("error_description") or detail.get("error") or exc.reason
        raise OAuthError(
            f"The OAuth2 provider refused to refresh the token ({exc.code}: {reason}): "
            "connect the account again."
        ) from exc
    except (OSError, ValueError) as exc:
        raise OAuthError(f"The OAuth2 token endpoint could not be reached: {exc}") from exc


def _short(answer: dict) -> str:
    return json.dumps({k: v for k, v in answer.items() if "token" not in k})[:200]
