"""The ESPs whose inbound webhooks the desk serves, and whether each one is authenticated.

django-anymail receives the mail (``/anymail/<esp>/inbound/``). It checks HTTP basic
auth (``ANYMAIL_WEBHOOK_SECRET``) on every ESP's webhook when the secret is set, and some
ESPs' signatures (Mailgun, Mandrill, Postal, MailerSend; SendGrid, Resend and Mailtrap
when their keys are set). Without either it accepts anything posted, with a warning: a
forged mail "from" a customer lands on her ticket. So only the ESPs listed in
``SUPPORTDESK_INBOUND_ESPS`` are routed, and in production the desk refuses to start
while one of them would take unauthenticated posts. When the basic-auth secret is set,
it is checked before anymail reads anything of the request: a post without it is a
401 whatever its body (some of anymail's views parse the body first, and a malformed
one from anybody was a 500).
"""

from __future__ import annotations

import warnings
from functools import wraps
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

# The ESPs anymail receives inbound mail from (its ``<esp>/inbound/`` views; Mandrill's
# one view takes inbound and tracking events).
INBOUND_ESPS = (
    "amazon_ses",
    "brevo",
    "mailersend",
    "mailgun",
    "mailjet",
    "mailtrap",
    "mandrill",
    "postal",
    "postmark",
    "resend",
    "sendgrid",
    "sendinblue",
    "sparkpost",
)


def inbound_esps_setting(raw: list[str]) -> list[str]:
    """Check ``SUPPORTDESK_INBOUND_ESPS`` (read in settings): known ESP names only."""
    unknown = sorted(set(raw) - set(INBOUND_ESPS))
    if unknown:
        raise ImproperlyConfigured(
            f"SUPPORTDESK_INBOUND_ESPS names unknown ESPs {', '.join(unknown)}: "
            f"use some of {', '.join(INBOUND_ESPS)}."
        )
    return raw


def _esp_of(pattern: Any) -> str:
    return str(pattern.pattern).lstrip("^").split("/")[0]


def _is_inbound(pattern: Any) -> bool:
    route = str(pattern.pattern)
    return "/inbound" in route or route == "mandrill/"


def inbound_urlpatterns(esps: list[str]) -> list[Any]:
    """Return anymail's inbound URL patterns of these ESPs (tracking ones are not used),
    each checking the basic-auth secret first."""
    from anymail.urls import urlpatterns

    from channels_app.email.webhooks import inbound_view  # large mail, raw kept as posted

    return [
        URLPattern(
            p.pattern,
            _auth_first(inbound_view(p.callback, _esp_of(p))),
            p.default_args,
            p.name,
        )
        for p in urlpatterns
        if _is_inbound(p) and _esp_of(p) in esps
    ]


def _auth_first(view: Any) -> Any:
    @csrf_exempt
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from anymail.utils import get_anymail_setting, get_request_basic_auth

        allowed = get_anymail_setting("webhook_secret", default=[])
        allowed = [allowed] if isinstance(allowed, str) else list(allowed)
        sent = get_request_basic_auth(request) or ""
        if allowed and not any(constant_time_compare(sent, secret) for secret in allowed):
            return HttpResponse(
                "Missing or wrong basic auth: use https://user:password@…/anymail/<esp>/inbound/",
                status=401,
                content_type="text/plain",
                headers={"WWW-Authenticate": 'Basic realm="SupportDesk inbound mail"'},
            )
        return view(request, *args, **kwargs)

    return checked


def unauthenticated_esps(esps: list[str]) -> list[str]:
    """Return the ESPs among ``esps`` whose webhook would accept an unauthenticated post.

    Asks anymail's own views, built as they are for a request: one is authenticated when
    it has basic auth, or checks its ESP's signature. A view anymail cannot build (a
    required signing key is missing) refuses every post, which is safe, not forgeable.
    """
    from anymail.exceptions import AnymailConfigurationError

    open_ones = []
    for pattern in inbound_urlpatterns(esps):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the insecure-webhook warning: we decide here
                view = pattern.callback.view_class()
        except AnymailConfigurationError:
            continue
        signs = not view.warn_if_no_basic_auth and getattr(view, "webhook_key", "") is not None
        if not view.basic_auth and not signs:
            open_ones.append(_esp_of(pattern))
    return sorted(set(open_ones))


def check_production(esps: list[str]) -> None:
    """Refuse to start while an enabled ESP's webhook would take unauthenticated mail."""
    if open_ones := unauthenticated_esps(esps):
        raise ImproperlyConfigured(
            "SUPPORTDESK_ENV=production refuses unauthenticated inbound webhooks "
            f"({', '.join(open_ones)}): set ANYMAIL_WEBHOOK_SECRET=user:password (basic auth "
            "on every ESP's webhook, over HTTPS), or list in SUPPORTDESK_INBOUND_ESPS only "
            "ESPs that sign their webhooks and whose keys are set (e.g. mailgun with "
            "MAILGUN_WEBHOOK_SIGNING_KEY)."
        )
