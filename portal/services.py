"""Account owners and registrants manage who may speak for their account."""

from __future__ import annotations

from django.db import transaction

from tickets.errors import InvalidInput
from tickets.models import Contact, ContactRole, Language
from tickets.services import contact_tickets_verify, contact_verify


def _check_owner(owner: Contact, contact: Contact) -> None:
    # The site's owner and the contact from the registration form both issue the list of
    # contact persons support may talk to.
    if not owner.manages_contacts:
        raise InvalidInput(
            "owner", "Only the account's owner or registrant can change its contact list."
        )
    if contact.account_id != owner.account_id:
        raise InvalidInput("contact", "This person is not on your account's contact list.")
    if contact.pk == owner.pk:
        raise InvalidInput("contact", "You cannot change your own entry; ask support.")


@transaction.atomic
def contact_approve(*, owner: Contact, contact: Contact) -> Contact:
    """Make a pending contact an authorized, verified contact of the owner's account; the
    tickets it wrote while pending lose their *needs verification* mark."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    _check_owner(owner, contact)
    contact = contact_verify(contact=contact)
    contact_tickets_verify(contact=contact)
    return contact


def contact_language_set(*, contact: Contact, language: str) -> Contact:
    """Remember the contact's preferred language (portal, auto-replies, notifications)."""
    if language not in Language.values:
        raise InvalidInput("language", f"Choose one of {', '.join(Language.values)}.")
    if contact.language != language:
        contact.language = language
        contact.save(update_fields=["language"])
    return contact


@transaction.atomic
def contact_remove(*, owner: Contact, contact: Contact) -> Contact:
    """Take a contact off the account: it keeps its history but loses access."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    _check_owner(owner, contact)
    contact.account = None
    contact.role = ContactRole.UNVERIFIED
    contact.verified_at = None
    contact.save(update_fields=["account", "role", "verified_at"])
    return contact
