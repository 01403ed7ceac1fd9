"""The standard support lines and departments every desk starts with (data migrations).

They mirror the two operations of ``../shared/seeds``: an e-commerce platform vendor
(customer and technical support, Moscow time, text only) and a domain reseller (CET:
worldwide, Netherlands, Spanish and Russian email lines, live chat and phone, the legal
team for abuse). Rows already there (by slug or address) are left alone, so admin edits
survive; the inboxes are ``*@supportdesk.localhost`` until the admin sets real ones.
"""

from __future__ import annotations

from typing import Any

STANDARD_DEPARTMENTS = [
    # name, slug, kind, inbox, accepts chat, accepts phone
    # Customer support is text only ("voice calls are not included").
    (
        "Customer support",
        "customer-support",
        "customer_support",
        "support@supportdesk.localhost",
        True,
        False,
    ),
    # Technical support takes written requests (tickets) from registered contacts.
    (
        "Technical support",
        "technical-support",
        "technical_support",
        "tech@supportdesk.localhost",
        True,
        False,
    ),
    # Abuse complaints are handled in writing by the legal team: no chat, no phone.
    ("Legal / abuse", "legal-abuse", "legal_abuse", "abuse@supportdesk.localhost", False, False),
]
# Added with the support lines (tickets 0006); older migrations create only the three above.
RESELLER_DEPARTMENT = (
    "Reseller support",
    "reseller-support",
    "customer_support",
    "reseller@supportdesk.localhost",
    True,
    True,
)

VENDOR, RESELLER = "ecommerce", "reseller"
STANDARD_LINES: list[dict[str, Any]] = [
    {
        "slug": VENDOR,
        "name": "E-commerce platform",
        "organisation": "E-commerce platform vendor",
        "is_default": True,
        "time_zone": "Europe/Moscow",
        "language": "en",
        "languages": ["en", "ru"],
        "channels": ["email", "chat", "portal", "api"],
        "severity_1_technical_only": True,
        "customisation_to_forum": True,
    },
    {
        "slug": RESELLER,
        "name": "Domain reseller",
        "organisation": "Domain reseller platform",
        "time_zone": "Europe/Amsterdam",
        "language": "en",
        "languages": ["en", "nl", "es", "ru"],
        "channels": ["email", "chat", "phone", "portal", "api"],
        "phone_number": "+31 (0)10 4482299",
        "requires_reseller_id": True,
        "chat_requires_reseller": True,
        "severity_1_technical_only": False,
    },
]
LINE_OF_DEPARTMENT = {
    "customer-support": VENDOR,
    "technical-support": VENDOR,
    "reseller-support": RESELLER,
    "legal-abuse": RESELLER,
}
REGISTERED_ONLY = {"technical-support"}
STANDARD_INBOXES = [
    # address, line, department slug, language, label
    # An empty language: the contact's preference or the mail's language, else the line's.
    ("support@supportdesk.localhost", VENDOR, "customer-support", "", "Customer support"),
    ("tech@supportdesk.localhost", VENDOR, "technical-support", "", "Technical support"),
    ("reseller@supportdesk.localhost", RESELLER, "reseller-support", "", "Worldwide support line"),
    (
        "reseller-nl@supportdesk.localhost",
        RESELLER,
        "reseller-support",
        "nl",
        "Netherlands support line",
    ),
    (
        "reseller-es@supportdesk.localhost",
        RESELLER,
        "reseller-support",
        "es",
        "Spanish support line",
    ),
    (
        "reseller-ru@supportdesk.localhost",
        RESELLER,
        "reseller-support",
        "ru",
        "Russian support line",
    ),
    ("abuse@supportdesk.localhost", RESELLER, "legal-abuse", "", "Legal team (abuse)"),
]


def ensure_standard_departments(department_model: Any, using: str = "default") -> None:
    """Create the standard departments that are missing (by slug); leave edited ones alone.

    Once the support lines exist (tickets 0006 onwards), ensure them too: the reseller's
    department, the lines, their inboxes, and each standard department's line.
    """
    for name, slug, kind, inbox, chat, phone in STANDARD_DEPARTMENTS:
        department_model.objects.using(using).get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": kind,
                "inbox_email": inbox,
                "accepts_chat": chat,
                "accepts_phone": phone,
            },
        )
    if any(f.name == "line" for f in department_model._meta.get_fields()):
        ensure_standard_lines(department_model._meta.apps, using)


def ensure_standard_lines(apps: Any, using: str = "default") -> None:
    """Create the standard lines, the reseller department and the inboxes that are missing,
    and give each standard department without a line its line."""
    line_model = apps.get_model("tickets", "SupportLine")
    inbox_model = apps.get_model("tickets", "LineInbox")
    department_model = apps.get_model("tickets", "Department")
    has_default = line_model.objects.using(using).filter(is_default=True).exists()
    lines = {}
    for spec in STANDARD_LINES:
        fields = {k: v for k, v in spec.items() if k != "slug"}
        if has_default:
            fields["is_default"] = False
        lines[spec["slug"]], _ = line_model.objects.using(using).get_or_create(
            slug=spec["slug"], defaults=fields
        )
    name, slug, kind, inbox, chat, phone = RESELLER_DEPARTMENT
    if (
        not department_model.objects.using(using)
        .filter(inbox_email=inbox)
        .exclude(slug=slug)
        .exists()
    ):
        department_model.objects.using(using).get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": kind,
                "inbox_email": inbox,
                "accepts_chat": chat,
                "accepts_phone": phone,
                "line": lines[RESELLER],
            },
        )
    departments = {d.slug: d for d in department_model.objects.using(using).all()}
    for dept_slug, line_slug in LINE_OF_DEPARTMENT.items():
        department = departments.get(dept_slug)
        if department is not None and department.line_id is None:
            department.line = lines[line_slug]
            department.registered_contacts_only = dept_slug in REGISTERED_ONLY
            department.save(update_fields=["line", "registered_contacts_only"])
    own_inboxes = {inbox for _, _, _, inbox, _, _ in [*STANDARD_DEPARTMENTS, RESELLER_DEPARTMENT]}
    for address, line_slug, dept_slug, language, label in STANDARD_INBOXES:
        department = departments.get(dept_slug)
        if department is None or department.line_id != lines[line_slug].pk:
            continue  # an admin moved or removed it: do not guess
        if address in own_inboxes and department.inbox_email != address:
            continue  # the admin set the real address: it routes by itself
        inbox_model.objects.using(using).get_or_create(
            email=address,
            defaults={
                "line": lines[line_slug],
                "department": department,
                "language": language,
                "label": label,
            },
        )
