"""Fixtures of the SLA tests: the preset calendars and policies, a clean calendar cache."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

MSK = ZoneInfo("Europe/Moscow")
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """Forget built calendars: a rolled-back test may leave a (pk, version) pair behind."""
    from sla import calendars

    calendars._CACHE.clear()
    yield
    calendars._CACHE.clear()


@pytest.fixture
def presets(departments):
    """The preset calendars, department links and policies (re-ensured after a flush)."""
    from sla.models import BusinessCalendar
    from sla.presets import ensure_presets

    ensure_presets()
    return {c.slug: c for c in BusinessCalendar.objects.all()}


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)
