"""supportdesk.middleware.LocaleMiddleware answers as Django's LocaleMiddleware does (the
project has no language-prefixed URLs, the work it skips)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.http import HttpResponse, HttpResponseNotFound
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.test import RequestFactory
from django.utils import translation

from supportdesk.middleware import LocaleMiddleware


def _view(request):
    body = f"{translation.get_language()}|{request.LANGUAGE_CODE}"
    if request.path_info.startswith("/missing"):
        return HttpResponseNotFound(body)
    return HttpResponse(body)


@pytest.mark.parametrize("path", ["/desk/counts/", "/admin/login/", "/portal/", "/missing/x"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_ACCEPT_LANGUAGE": "ru-RU,ru;q=0.9,en;q=0.8"},
        {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"},
        {"HTTP_COOKIE": f"{settings.LANGUAGE_COOKIE_NAME}=ru"},
        {"HTTP_COOKIE": f"{settings.LANGUAGE_COOKIE_NAME}=xx", "HTTP_ACCEPT_LANGUAGE": "ru"},
    ],
)
def test_answers_as_djangos_locale_middleware(path, headers):
    assert not is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]
    answers = []
    for middleware in (DjangoLocaleMiddleware(_view), LocaleMiddleware(_view)):
        translation.activate("en")
        request = RequestFactory().get(path, **headers)
        response = middleware(request)
        answers.append(
            (
                response.status_code,
                response.content,
                response.get("Vary"),
                response.get("Content-Language"),
                translation.get_language(),
            )
        )
    translation.activate(settings.LANGUAGE_CODE)
    assert answers[0] == answers[1]
    if "ru" in str(headers):
        assert answers[1][1].startswith(b"ru|")
