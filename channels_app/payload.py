"""Reading structured (JSON) inbound payloads: one set of checks for every processor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from tickets.lines import department_for_channel
from tickets.models import Department, SupportLine

from .errors import InboundRejected


def required_text(data: dict[str, Any], key: str) -> str:
    """Return ``data[key]``; reject a missing, empty or non-text value."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InboundRejected(f"{key!r} is required and must be non-empty text.")
    return value


def parse_when(value: Any, field: str = "occurred_at") -> datetime | None:
    """Return an aware datetime from ISO 8601 text (None when absent); reject naive ones."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InboundRejected(f"{field} {value!r} is not ISO 8601.") from exc
    if parsed.tzinfo is None:
        raise InboundRejected(f"{field} needs a UTC offset, e.g. 2026-03-01T10:00:00+01:00.")
    return parsed


def agent_by_username(username: Any) -> User | None:
    """Return the active agent with this username (None when not given)."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=str(username), is_active=True).first()
    if user is None:
        raise InboundRejected(f"No active agent {username!r}: send the agent's username.")
    return user


def line_from_payload(data: dict[str, Any]) -> SupportLine | None:
    """Return the support line the payload names (``line``: its slug; the API adds its
    integration's line), None when it names none."""
    slug = data.get("line")
    if not slug:
        return None
    line = SupportLine.objects.filter(slug=str(slug)).first()
    if line is None:
        raise InboundRejected(f"No support line {slug!r}: use a line's slug.")
    return line


def department_from_payload(
    data: dict[str, Any], channel: str, line: SupportLine | None
) -> Department:
    """Return the active department the payload names (``department``: its slug), else the
    line's department for the channel (``tickets.lines.department_for_channel``)."""
    if slug := data.get("department"):
        department = Department.objects.filter(slug=str(slug), is_active=True).first()
        if department is None:
            raise InboundRejected(f"No active department {slug!r}: use a department slug.")
        return department
    department = department_for_channel(channel, line)
    if department is None:
        where = f"{line}" if line else "No support line"
        raise InboundRejected(
            f"{where} takes no {channel} requests: name a department or a line that does."
        )
    return department
