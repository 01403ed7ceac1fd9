"""Helpers of the SLA tests (the ``presets`` fixture lives in tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")
AMS = ZoneInfo("Europe/Amsterdam")


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)
