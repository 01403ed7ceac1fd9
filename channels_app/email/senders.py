"""Who wrote and to whom: contact, account (reseller ID), verification and department."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings

from tickets.models import Account, Contact, Department, DepartmentKind, Message, Ticket
from tickets.selectors import contacts_by_email

from .parsing import ParsedEmail
from .threading_keys import find_reseller_id

DEFAULT_DEPARTMENT_KIND = DepartmentKind.CUSTOMER_SUPPORT
# Subjects of abuse complaints sent to any inbox (ARF reports are recognised by type).
ABUSE_SUBJECT_RE = re.compile(
    r"\b(?:abuse|phishing|spam\s+(?:complaint|report)|malware|dmca|copyright\s+infringement)\b",
    re.I,
)


@dataclass(frozen=True)
class Sender:
    """What the mail says about its author."""

    email: str
    contact: Contact | None
    account: Account | None
    needs_verification: bool
    reseller_id: str | None


def identify_sender(parsed: ParsedEmail) -> Sender:
    """Match the sender to a contact and the reseller ID (if quoted) to an account.

    A sender who is not a verified contact of the named account gets the account attached
    but ``needs_verification`` set: agents confirm them before sharing anything.
    """
    email = parsed.from_email.strip().lower()
    contacts = list(contacts_by_email(email)) if "@" in email else []
    pattern = settings.SUPPORTDESK_RESELLER_PATTERN
    reseller_id = find_reseller_id(parsed.subject, pattern) or find_reseller_id(
        parsed.text[:20000], pattern
    )
    account = Account.objects.filter(reseller_id=reseller_id).first() if reseller_id else None
    if account is not None:
        own = [c for c in contacts if c.account_id == account.pk]
        contact = next((c for c in own if c.is_verified), own[0] if own else None)
        verified = contact is not None and contact.is_verified
        return Sender(email, contact, account, not verified, reseller_id)
    contact = next((c for c in contacts if c.is_verified), contacts[0] if contacts else None)
    account = contact.account if contact else None
    needs = contact is not None and account is not None and not contact.is_verified
    return Sender(email, contact, account, needs, reseller_id)


def sender_belongs_to(ticket: Ticket, email: str) -> bool:
    """Return whether ``email`` is the ticket's contact, a contact of its account, or
    the address that has been writing on it (tickets without a known contact)."""
    contacts = contacts_by_email(email)
    if ticket.contact_id and contacts.filter(pk=ticket.contact_id).exists():
        return True
    if ticket.account_id and contacts.filter(account_id=ticket.account_id).exists():
        return True
    return Message.objects.filter(
        ticket=ticket, channel="email", direction="inbound", metadata__from=email
    ).exists()


def recipients(parsed: ParsedEmail) -> list[str]:
    """Return every address the mail was delivered to, envelope first, lower-cased."""
    ordered = [*parsed.delivered_to, *parsed.to, *parsed.cc]
    return list(dict.fromkeys(a.strip().lower() for a in ordered if "@" in a))


def route(parsed: ParsedEmail) -> Department:
    """Pick the department: the first inbox the mail was sent to; abuse reports go to
    the legal/abuse department whatever inbox they reached."""
    inboxes = {d.inbox_email.lower(): d for d in Department.objects.filter(is_active=True)}
    if parsed.report_type == "feedback-report" or ABUSE_SUBJECT_RE.search(parsed.subject):
        abuse = next((d for d in inboxes.values() if d.kind == DepartmentKind.LEGAL_ABUSE), None)
        if abuse is not None:
            return abuse
    for address in recipients(parsed):
        if address in inboxes:
            return inboxes[address]
    fallback = next((d for d in inboxes.values() if d.kind == DEFAULT_DEPARTMENT_KIND), None)
    if fallback is None:
        fallback = next(iter(inboxes.values()), None)
    if fallback is None:
        raise Department.DoesNotExist("No active department: activate one in the admin.")
    return fallback


def our_addresses() -> set[str]:
    """Return the addresses we send from: every inbox and the default sender."""
    ours = {e.lower() for e in Department.objects.values_list("inbox_email", flat=True)}
    for value in (settings.DEFAULT_FROM_EMAIL, settings.SERVER_EMAIL):
        if address := parseaddr(value)[1]:
            ours.add(address.lower())
    return ours
