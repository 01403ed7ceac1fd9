"""The standard departments every desk starts with (installed by a data migration)."""

STANDARD_DEPARTMENTS = [
    # name, slug, kind, inbox, accepts chat, accepts phone
    (
        "Customer support",
        "customer-support",
        "customer_support",
        "support@supportdesk.localhost",
        True,
        True,
    ),
    (
        "Technical support",
        "technical-support",
        "technical_support",
        "tech@supportdesk.localhost",
        True,
        True,
    ),
    # Abuse complaints are handled in writing by the legal team: no chat, no phone.
    ("Legal / abuse", "legal-abuse", "legal_abuse", "abuse@supportdesk.localhost", False, False),
]


def ensure_standard_departments(department_model, using: str = "default") -> None:
    """Create the standard departments that are missing (by slug); leave edited ones alone."""
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
