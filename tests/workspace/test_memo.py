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


def test_a_page_scope_answers_what_was_active_when_it_opened_and_no_longer():
    """Within ``page_scope`` the language, zone and URL prefix are read once; another
    page (another agent's language and zone) opens its own scope; after it, Django's
    context-locals answer again."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from workspace.message_html import when_html
    from workspace.templatetags.workspace_tags import countdown

    memo.clear()
    moment = timezone.now().replace(year=2030, month=1, day=2, hour=9, minute=5)
    try:
        with translation.override("ru"), timezone.override(ZoneInfo("Europe/Moscow")):
            set_script_prefix("/support/")
            with memo.page_scope():
                # What another part of the request activates meanwhile is not asked for.
                set_script_prefix("/")
                with translation.override("en"), timezone.override(ZoneInfo("UTC")):
                    assert memo.language() == "ru"
                    assert memo.zone_name() == "Europe/Moscow"
                    assert memo.gettext("Send") == "Отправить"
                    assert memo.reverse("workspace:ticket", args=[7]) == "/support/desk/t/7/"
                    assert 'title="Europe/Moscow">02 Jan 12:05</time>' in when_html(moment)
                    assert "(Europe/Moscow)" in countdown(moment, moment)
                with translation.override("en"), timezone.override(ZoneInfo("Asia/Tokyo")):
                    with memo.page_scope():
                        assert (memo.language(), memo.zone_name()) == ("en", "Asia/Tokyo")
                        assert memo.gettext("Send") == "Send"
                        assert 'title="Asia/Tokyo">02 Jan 18:05</time>' in when_html(moment)
                    # The outer page's scope again.
                    assert (memo.language(), memo.zone_name()) == ("ru", "Europe/Moscow")
            assert memo.reverse("workspace:ticket", args=[7]) == "/desk/t/7/"
        with translation.override("en"), timezone.override(ZoneInfo("UTC")):
            assert (memo.language(), memo.zone_name()) == ("en", "UTC")
            assert memo.gettext("Send") == "Send"
            assert 'title="UTC">02 Jan 09:05</time>' in when_html(moment)
    finally:
        set_script_prefix("/")


def test_times_are_written_as_strftime_writes_them():
    """The countdowns' and times' texts, written without strftime: the same text for
    every month, day, hour and minute, in zones either side of UTC."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from workspace.templatetags.workspace_tags import day_text, minute_text

    moment = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    zones = (UTC, ZoneInfo("Europe/Moscow"), ZoneInfo("America/Los_Angeles"))
    for step in range(0, 366 * 24 * 60, 97):  # a minute of every hour and day, in steps
        for zone in zones:
            local = (moment + timedelta(minutes=step)).astimezone(zone)
            assert minute_text(local) == local.strftime("%Y-%m-%d %H:%M")
            assert day_text(local) == local.strftime("%d %b %H:%M")
    early = datetime(999, 3, 4, 5, 6, tzinfo=UTC)
    assert minute_text(early) == early.strftime("%Y-%m-%d %H:%M")
