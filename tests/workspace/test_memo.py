"""workspace/memo.py keeps translations and URLs per process: per language and script
prefix, never one agent's language on another's page."""

from __future__ import annotations

from django.urls import set_script_prefix
from django.utils import translation

from workspace import memo


def test_each_language_gets_its_own_translation():
    memo.clear()
    with translation.override("ru"):
        russian = memo.gettext("Send")
    with translation.override("en"):
        english = memo.gettext("Send")
    with translation.override("ru"):
        assert memo.gettext("Send") == russian
    assert (english, russian) == ("Send", "Отправить")


def test_plural_forms_follow_the_number():
    memo.clear()
    singular, plural = "%(n)s remote image blocked", "%(n)s remote images blocked"
    with translation.override("en"):
        assert memo.ngettext(singular, plural, 1) == singular
        assert memo.ngettext(singular, plural, 3) == plural
        assert memo.ngettext(singular, plural, 1) == singular


def test_urls_follow_the_script_prefix():
    memo.clear()
    try:
        assert memo.reverse("workspace:ticket", args=[100001]) == "/desk/t/100001/"
        set_script_prefix("/support/")
        assert memo.reverse("workspace:ticket", args=[100001]) == "/support/desk/t/100001/"
    finally:
        set_script_prefix("/")
    assert memo.reverse("workspace:ticket", args=[100002]) == "/desk/t/100002/"


def test_each_url_has_its_own_numbers():
    memo.clear()
    assert memo.reverse("workspace:message", args=[100001, 7]) == "/desk/t/100001/m/7/"
    assert memo.reverse("workspace:message", args=[100002, 70]) == "/desk/t/100002/m/70/"
    assert memo.reverse("workspace:view", args=["mine"]) == "/desk/views/mine/"


def test_changed_language_settings_clear_the_memo(settings):
    with translation.override("en"):
        memo.gettext("Send")
    assert memo._texts
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS]
    assert not memo._texts
