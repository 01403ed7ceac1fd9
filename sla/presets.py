"""The preset calendars and policies (installed by a data migration, re-ensured by tests).

They mirror the two support operations in `../shared/seeds`: Moscow customer and technical
support ("within 1 hour on working days", S1 "within an hour during business hours,
within 3 hours on weekends", "a detailed solution within 5 working days") and a CET
office ("emails within one working day or 8 business hours, follow-ups within two working
days or 16 business hours", phone and chat away during the Friday meetings).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps
from django.utils import timezone

from .calendars import sync_holidays

MON_FRI = range(5)


def _weekly(open_at: str, close_at: str) -> dict[str, list[list[str]]]:
    return {str(d): [[open_at, close_at]] for d in MON_FRI}


CET_PHONE_CHAT = _weekly("09:30", "17:00")
# Friday meetings: unavailable 10:30–13:30 and 15:00–15:30.
CET_PHONE_CHAT["4"] = [["09:30", "10:30"], ["13:30", "15:00"], ["15:30", "17:00"]]

CALENDARS = [
    # slug, name, tz, weekly, country, short day before a holiday
    (
        "moscow-customer",
        "Moscow customer support",
        "Europe/Moscow",
        _weekly("07:00", "17:00"),
        "RU",
        True,
    ),
    (
        "moscow-technical",
        "Moscow technical support",
        "Europe/Moscow",
        _weekly("08:00", "17:00"),
        "RU",
        False,
    ),
    ("cet-office", "CET office", "Europe/Amsterdam", _weekly("09:30", "17:00"), "NL", False),
    ("cet-phone-chat", "CET phone & chat", "Europe/Amsterdam", CET_PHONE_CHAT, "NL", False),
]

DEPARTMENT_CALENDARS = {
    "customer-support": "moscow-customer",
    "technical-support": "moscow-technical",
    "legal-abuse": "cet-office",
}

H = "business_hours"
D = "working_days"

POLICIES: list[dict[str, Any]] = [
    {
        "slug": "customer-support",
        "name": "Customer support: answer within 1 business hour",
        "order": 10,
        "department": "customer-support",
        "first_response": (1, H, None),
        "next_response": (1, H, None),
        "description": "Answer guaranteed within 1 hour on working days 07:00-17:00 Moscow.",
    },
    {
        "slug": "technical-support",
        "name": "Technical support: 1 business hour, solution within 5 working days",
        "order": 10,
        "department": "technical-support",
        "first_response": (1, H, None),
        "resolution": (5, D, None),
        "description": "Initial consideration within an hour during business hours; "
        "detailed consideration and solution up to 5 working days.",
    },
    {
        "slug": "technical-support-s1",
        "name": "Technical support S1: 1 business hour, 3 hours on weekends",
        "order": 5,
        "department": "technical-support",
        "severity": 1,
        "first_response": (1, H, 3),
        "next_response": (1, H, 3),
        "resolution": (5, D, None),
        "description": "Critical errors: within an hour during business hours, within 3 "
        "hours on weekends (3 calendar hours whenever the calendar is closed).",
    },
    {
        "slug": "cet-email",
        "name": "Email (CET): 1 working day, follow-ups 2 working days",
        "order": 20,
        "channel": "email",
        "calendar": "cet-office",
        "first_response": (1, D, None),
        "next_response": (2, D, None),
        "description": "Emails answered within one working day or 8 business hours; "
        "follow-ups within two working days or 16 business hours.",
    },
    {
        "slug": "cet-phone-chat",
        "name": "Phone & chat (CET): 1 business hour",
        "order": 30,
        "channel": "chat",
        "calendar": "cet-phone-chat",
        "first_response": (1, H, None),
        "next_response": (1, H, None),
        "description": "Live chat during office hours, away during the Friday meetings.",
    },
]


def preset_years() -> range:
    """Return the years whose holidays the presets materialise: last year to two ahead."""
    year = timezone.now().year
    return range(min(year - 1, 2025), year + 3)


def ensure_presets(apps: Any = None, *, using: str = "default") -> None:
    """Create the preset calendars, department links and policies that are missing.

    Rows already there (by slug) are left alone, so admin edits survive. Holidays are
    materialised for `preset_years()` for calendars that have none yet.
    """
    registry = apps or django_apps
    calendar_model = registry.get_model("sla", "BusinessCalendar")
    exception_model = registry.get_model("sla", "CalendarException")
    link_model = registry.get_model("sla", "DepartmentCalendar")
    policy_model = registry.get_model("sla", "SlaPolicy")
    department_model = registry.get_model("tickets", "Department")

    calendars = {}
    for slug, name, tz, weekly, country, short_day in CALENDARS:
        cal, _ = calendar_model.objects.using(using).get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "tz": tz,
                "weekly_hours": weekly,
                "holiday_country": country,
                "short_day_before_holiday": short_day,
            },
        )
        calendars[slug] = cal
        if (
            cal.holiday_country
            and not exception_model.objects.filter(calendar=cal, source="holidays").exists()
        ):
            sync_holidays(cal, preset_years(), apps=registry)

    departments = {d.slug: d for d in department_model.objects.using(using).all()}
    for dept_slug, cal_slug in DEPARTMENT_CALENDARS.items():
        if dept_slug in departments:
            link_model.objects.using(using).get_or_create(
                department=departments[dept_slug], defaults={"calendar": calendars[cal_slug]}
            )

    for spec in POLICIES:
        if spec.get("department") and spec["department"] not in departments:
            continue
        defaults: dict[str, Any] = {
            "name": spec["name"],
            "order": spec["order"],
            "department": departments.get(spec.get("department", "")),
            "channel": spec.get("channel", ""),
            "severity": spec.get("severity"),
            "calendar": calendars.get(spec.get("calendar", "")),
            "description": spec["description"],
        }
        for target in ("first_response", "next_response", "resolution"):
            if target in spec:
                amount, unit, closed_hours = spec[target]
                defaults[f"{target}_amount"] = Decimal(amount)
                defaults[f"{target}_unit"] = unit
                defaults[f"{target}_closed_hours"] = (
                    Decimal(closed_hours) if closed_hours is not None else None
                )
        policy_model.objects.using(using).get_or_create(slug=spec["slug"], defaults=defaults)
