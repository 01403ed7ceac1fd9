"""Passwordless sign-in: a signed, expiring link, mailed to a verified contact, usable once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, MailOut, mail_queue
from tickets.models import Contact
from tickets.selectors import contacts_by_email

from .models import MagicLinkUse

SALT = "portal.magic-link"


def magic_link_send(*, email: str, link_for: Callable[[str], str]) -> bool:
    """Mail a sign-in link if ``email`` belongs to a verified contact; return whether it did.

    Callers show the same answer either way, so nobody can probe which addresses exist.
    The mail goes through the outbox: stored here, sent by a worker (a mail server's
    trouble never reaches the request); the stored body is hidden from agents and erased
    once sent, and a link not sent within its lifetime is not sent at all.
    """
    contact = next((c for c in contacts_by_email(email) if c.is_verified), None)
    if contact is None:
        return False
    token = signing.dumps({"c": contact.pk, "n": secrets.token_urlsafe(16)}, salt=SALT)
    max_age = settings.SUPPORTDESK_MAGIC_LINK_MAX_AGE
    body = _(
        "Sign in to the support portal with this link (valid for %(minutes)d minutes, "
        "once):\n\n%(link)s\n\nIf you did not ask for it, ignore this mail."
    ) % {"minutes": max_age // 60, "link": link_for(token)}
    mail_queue(
        MailOut(
            kind=MailKind.MAGIC_LINK,
            to=[email.strip().lower()],
            subject=_("Your SupportDesk sign-in link"),
            body_text=body,
            headers=AUTO_GENERATED,
            sensitive=True,
            expires_at=timezone.now() + timedelta(seconds=max_age),
        )
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
