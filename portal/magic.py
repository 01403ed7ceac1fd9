"""Passwordless sign-in: a signed, expiring link, mailed to a verified contact, usable once."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from tickets.models import Contact
from tickets.selectors import contacts_by_email

from .models import MagicLinkUse

SALT = "portal.magic-link"


def magic_link_send(*, email: str, link_for: callable) -> bool:
    """Mail a sign-in link if ``email`` belongs to a verified contact; return whether it did.

    Callers show the same answer either way, so nobody can probe which addresses exist.
    """
    contact = next((c for c in contacts_by_email(email) if c.is_verified), None)
    if contact is None:
        return False
    token = signing.dumps({"c": contact.pk, "n": secrets.token_urlsafe(16)}, salt=SALT)
    minutes = settings.SUPPORTDESK_MAGIC_LINK_MAX_AGE // 60
    send_mail(
        subject="Your SupportDesk sign-in link",
        message=(
            f"Sign in to the support portal with this link (valid for {minutes} minutes, "
            f"once):\n\n{link_for(token)}\n\nIf you did not ask for it, ignore this mail."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email.strip().lower()],
    )
    return True


def magic_link_redeem(token: str) -> Contact | None:
    """Return the contact a valid, unexpired, unused link signs in (and mark it used)."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.SUPPORTDESK_MAGIC_LINK_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    contact = Contact.objects.select_related("account").filter(pk=data.get("c")).first()
    if contact is None or not contact.is_verified:
        return None
    try:
        with transaction.atomic():
            MagicLinkUse.objects.create(nonce=data["n"], contact=contact)
    except IntegrityError:  # used before: single use
        return None
    return contact
