"""The portal's and the knowledge base's language and time zone.

Language: the customer's own choice (the switcher; kept in the session, and as the
contact's preference when signed in), else the contact's preference (put in the session at
sign-in), else the browser's languages that SupportDesk speaks, else the support line's.
Time zone: the contact's, else the line's; the pages say which zone their times are in.
Both are read from the session, so a replayed (cached) page costs no query; only a
visitor with no choice and no matching browser language looks the line up.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import trans_real
from django.views.decorators.http import require_GET

from tickets.models import Contact, Language, SupportLine

from .lines import portal_line

LANGUAGE_KEY = "portal_language"
ZONE_KEY = "portal_zone"
LINE_LANGUAGE_KEY = "portal_line_language"  # the signed-in contact's line's, after the browser's
PORTAL_PATHS = ("/portal/", "/kb/")


def browser_language(request: HttpRequest) -> str:
    """Return the first language of the browser's Accept-Language that customers are
    answered in (English, Dutch, Spanish, Russian), or ""."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in trans_real.parse_accept_lang_header(header):
        base = code.split("-")[0].lower()
        if base in Language.values:
            return base
    return ""


def contact_settings(request: HttpRequest, contact: Contact) -> None:
    """Remember a contact's language and zone in the session (at sign-in)."""
    if contact.language:
        request.session[LANGUAGE_KEY] = contact.language
    account = contact.account if contact.account_id else None
    line = account.line if account is not None and account.line_id else None
    line = line or portal_line(request, remember=False)
    request.session[ZONE_KEY] = contact.time_zone or line.time_zone
    request.session[LINE_LANGUAGE_KEY] = line.language


def _line(request: HttpRequest) -> SupportLine:
    # Before the view knows who is signed in: not kept for the view.
    return portal_line(request, remember=False)


class PortalLocaleMiddleware:
    """Activate the customer's language and time zone on portal and KB pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PORTAL_PATHS):
            return self.get_response(request)
        session = request.session
        language = session.get(LANGUAGE_KEY) or browser_language(request)
        if language not in Language.values:
            language = (
                session.get(LINE_LANGUAGE_KEY) or portal_line(request, remember=False).language
            )
        zone = session.get(ZONE_KEY) or portal_line(request, remember=False).time_zone or "UTC"
        try:
            tzinfo = ZoneInfo(zone)
        except Exception:  # a zone removed from the tz database: UTC, and say so
            tzinfo = ZoneInfo("UTC")
        request.LANGUAGE_CODE = language
        with translation.override(language), timezone.override(tzinfo):
            response = self.get_response(request)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # a TemplateResponse renders in the customer's language
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response


@require_GET
def language_choose(request: HttpRequest, language: str) -> HttpResponse:
    """Switch the portal's language (and a signed-in contact's preference).

    A plain link, not a form: the pages that must look the same to everyone (the sign-in
    answer) carry no per-request token, and a forged link can only change a language.
    """
    from .auth import portal_contact
    from .services import contact_language_set

    if language in Language.values:
        request.session[LANGUAGE_KEY] = language
        contact = portal_contact(request)
        if contact is not None:
            contact_language_set(contact=contact, language=language)
    target = request.GET.get("next") or reverse("portal:home")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("portal:home")
    return HttpResponseRedirect(target)


def portal_languages(request: HttpRequest) -> list[tuple[str, str]]:
    """Return the languages the switcher offers: the line's, in its order."""
    names = dict(Language.choices)
    return [(code, names.get(code, code)) for code in portal_line(request).answered_languages]
