"""The preset calendars and policies (installed by a data migration, re-ensured by tests).

They mirror the two support operations in `../shared/seeds`, one support line each: the
e-commerce vendor's Moscow customer and technical support ("within 1 hour on working
days", S1 "within an hour during business hours, within 3 hours on weekends", "a
detailed solution within 5 working days") and the domain reseller's CET support ("emails
within one working day or 8 business hours, follow-ups within two working days or 16
business hours", phone and chat away during the Friday meetings, the legal team by email).
Every policy names its line; none hides another (``sla.policies``), and every channel each
line takes has one (``coverage_gaps``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps
from django.utils import timezone

from .calendar_store import holidays_sync

MON_FRI = range(5)


def _weekly(open_at: str, close_at: str) -> dict[str, list[list[str]]]:
    return {str(d): [[open_at, close_at]] for d in MON_FRI}


CET_PHONE_CHAT = _weekly("09:30", "17:00")
# Friday meetings: unavailable 10:30–13:30 and 15:00–15:30.
CET_PHONE_CHAT["4"] = [["09:30", "10:30"], ["13:30", "15:00"], ["15:30", "17:00"]]

CALENDARS = [
    # slug, name, tz, weekly, country, short day before a holiday
    # Both Moscow calendars follow the production calendar's shortened pre-holiday days.
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
        True,
    ),
    ("cet-office", "CET office", "Europe/Amsterdam", _weekly("09:30", "17:00"), "NL", False),
    ("cet-phone-chat", "CET phone & chat", "Europe/Amsterdam", CET_PHONE_CHAT, "NL", False),
    # The reseller's email: one working day is exactly 8 business hours.
    ("cet-email", "CET email", "Europe/Amsterdam", _weekly("09:00", "17:00"), "NL", False),
]

DEPARTMENT_CALENDARS = {
    "customer-support": "moscow-customer",
    "technical-support": "moscow-technical",
    "reseller-support": "cet-email",
    "legal-abuse": "cet-email",
}
# line: (its SLA calendar, when its chat and phone are staffed)
LINE_CALENDARS = {
    "ecommerce": ("moscow-customer", "moscow-customer"),
    "reseller": ("cet-email", "cet-phone-chat"),
}

H = "business_hours"
D = "working_days"

POLICIES: list[dict[str, Any]] = [
    # The e-commerce vendor: "Answer to customer's request is guaranteed within 1 hour on
    # working days" (customer 07-17, technical 08-17 Moscow).
    {
        "slug": "customer-support",
        "name": "Customer support: answer within 1 business hour",
        "order": 10,
        "line": "ecommerce",
        "department": "customer-support",
        "first_response": (1, H, None),
        "next_response": (1, H, None),
        "description": "Answer guaranteed within 1 hour on working days 07:00-17:00 Moscow.",
    },
    {
        "slug": "technical-support",
        "name": "Technical support: 1 business hour, solution within 5 working days",
        "order": 10,
        "line": "ecommerce",
        "department": "technical-support",
        "first_response": (1, H, None),
        "next_response": (1, H, None),
        "resolution": (5, D, None),
        "description": "Initial consideration within an hour during business hours; follow-ups "
        "answered within an hour on working days; detailed consideration and solution up to "
        "5 working days.",
    },
    {
        "slug": "technical-support-s1",
        "name": "Technical support S1: 1 business hour, 3 hours on days off",
        "order": 5,
        "line": "ecommerce",
        "department": "technical-support",
        "severity": 1,
        "first_response": (1, H, 3),
        "next_response": (1, H, 3),
        "resolution": (5, D, None),
        "description": "Critical errors: within an hour during business hours, within 3 "
        "hours on weekends (3 calendar hours when the clock starts on a weekend day or a "
        "public holiday; the earlier deadline counts).",
    },
    # The domain reseller: "Emails will be answered within one working day or 8 business
    # hours. Follow-ups ... within two working days, or 16 business hours." Portal and
    # API requests are written requests too.
    {
        "slug": "cet-email",
        "name": "Reseller support (CET): 8 business hours, follow-ups 16",
        "order": 20,
        "line": "reseller",
        "department": "reseller-support",
        "calendar": "cet-email",
        "first_response": (8, H, None),
        "next_response": (16, H, None),
        "description": "Emails answered within one working day or 8 business hours; "
        "follow-ups within two working days or 16 business hours (Mon-Fri 09:00-17:00 CET, "
        "Dutch public holidays off).",
    },
    {
        "slug": "cet-phone-chat",
        "name": "Reseller live chat (CET): 1 business hour",
        "order": 30,
        "line": "reseller",
        "department": "reseller-support",
        "channel": "chat",
        "calendar": "cet-phone-chat",
        "first_response": (1, H, None),
        "next_response": (1, H, None),
        "description": "Live chat during office hours (09:30-17:00 CET), away during the "
        "Friday meetings 10:30-13:30 and 15:00-15:30.",
    },
    {
        "slug": "cet-phone",
        "name": "Reseller phone (CET): 1 business hour",
        "order": 30,
        "line": "reseller",
        "department": "reseller-support",
        "channel": "phone",
        "calendar": "cet-phone-chat",
        "first_response": (1, H, None),
        "next_response": (1, H, None),
        "description": "Phone for urgent cases (09:30-17:00 CET), away during the Friday "
        "meetings 10:30-13:30 and 15:00-15:30.",
    },
    {
        "slug": "legal-abuse",
        "name": "Legal team (CET): abuse complaints, 8 business hours",
        "order": 20,
        "line": "reseller",
        "department": "legal-abuse",
        "calendar": "cet-email",
        "first_response": (8, H, None),
        "next_response": (16, H, None),
        "description": "Complaints about fraudulent webshops, phishing and copyright "
        "violations are handled by the legal team, by email only; reports sent through the "
        "portal or the API get the same email deadlines.",
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
    line_calendar_model = registry.get_model("sla", "LineCalendar")
    department_model = registry.get_model("tickets", "Department")
    line_model = registry.get_model("tickets", "SupportLine")

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
            holidays_sync(cal, preset_years(), apps=registry)

    departments = {d.slug: d for d in department_model.objects.using(using).all()}
    for dept_slug, cal_slug in DEPARTMENT_CALENDARS.items():
        if dept_slug in departments:
            link_model.objects.using(using).get_or_create(
                department=departments[dept_slug], defaults={"calendar": calendars[cal_slug]}
            )
    lines = {line.slug: line for line in line_model.objects.using(using).all()}
    for line_slug, (cal_slug, chat_slug) in LINE_CALENDARS.items():
        if line_slug in lines:
            line_calendar_model.objects.using(using).get_or_create(
                line=lines[line_slug],
                defaults={
                    "calendar": calendars[cal_slug],
                    "chat_phone_calendar": calendars[chat_slug],
                },
            )

    for spec in POLICIES:
        if spec.get("department") and spec["department"] not in departments:
            continue
        if spec.get("line") and spec["line"] not in lines:
            continue
        defaults: dict[str, Any] = {
            "name": spec["name"],
            "order": spec["order"],
            "line": lines.get(spec.get("line", "")),
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


def upgrade_presets(apps: Any, *, using: str = "default") -> None:
    """Bring an installation from before support lines to the line-scoped presets.

    Preset policies that name no line yet (by slug) take the preset's criteria, calendar
    and targets: their old criteria let the Moscow department policies shadow the CET email
    policy, which then applied only to legal mail. The Moscow technical calendar gets the
    shortened pre-holiday days and its holidays are written again.
    """
    calendar_model = apps.get_model("sla", "BusinessCalendar")
    policy_model = apps.get_model("sla", "SlaPolicy")
    technical = calendar_model.objects.using(using).filter(
        slug="moscow-technical", short_day_before_holiday=False
    )
    for calendar in technical:
        calendar.short_day_before_holiday = True
        calendar.save(update_fields=["short_day_before_holiday"])
        holidays_sync(calendar, preset_years(), apps=apps)
    ensure_presets(apps, using=using)  # the new calendars, lines' calendars, new policies
    calendars = {c.slug: c for c in calendar_model.objects.using(using).all()}
    lines = {x.slug: x for x in apps.get_model("tickets", "SupportLine").objects.using(using)}
    departments = {d.slug: d for d in apps.get_model("tickets", "Department").objects.using(using)}
    for spec in POLICIES:
        policy = policy_model.objects.using(using).filter(slug=spec["slug"], line=None).first()
        if policy is None or spec["line"] not in lines:
            continue
        policy.name = spec["name"]
        policy.line = lines[spec["line"]]
        policy.department = departments.get(spec.get("department", ""))
        policy.channel = spec.get("channel", "")
        policy.severity = spec.get("severity")
        policy.calendar = calendars.get(spec.get("calendar", ""))
        policy.description = spec["description"]
        for target in ("first_response", "next_response", "resolution"):
            amount, unit, closed_hours = spec.get(target, (None, "business_hours", None))
            setattr(policy, f"{target}_amount", Decimal(amount) if amount else None)
            setattr(policy, f"{target}_unit", unit)
            setattr(
                policy,
                f"{target}_closed_hours",
                Decimal(closed_hours) if closed_hours is not None else None,
            )
        policy.save()
