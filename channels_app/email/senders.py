"""Who wrote and to whom: contact, account (reseller ID), verification and department."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings

from tickets.models import Account, Contact, Department, DepartmentKind, Message, Ticket
from tickets.selectors import contacts_by_email, contacts_by_emails

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
    return identify_senders([parsed])[0]


def identify_senders(
    mails: Sequence[ParsedEmail], contacts: dict[str, list[Contact]] | None = None
) -> list[Sender]:
    """``identify_sender`` for many mails: two queries whatever their number (one if the
    caller passes the senders' ``contacts_by_emails``)."""
    pattern = settings.SUPPORTDESK_RESELLER_PATTERN
    emails = [m.from_email.strip().lower() for m in mails]
    reseller_ids = [
        find_reseller_id(m.subject, pattern) or find_reseller_id(m.text[:20000], pattern)
        for m in mails
    ]
    if contacts is None:
        contacts = contacts_by_emails({e for e in emails if "@" in e})
    wanted = {r for r in reseller_ids if r}
    accounts = {a.reseller_id: a for a in Account.objects.filter(reseller_id__in=wanted)}
    return [
        _sender(email, contacts.get(email, []), accounts.get(reseller_id or ""), reseller_id)
        for email, reseller_id in zip(emails, reseller_ids, strict=True)
    ]


def _sender(
    email: str, contacts: list[Contact], account: Account | None, reseller_id: str | None
) -> Sender:
    if account is not None:
        own = [c for c in contacts if c.account_id == account.pk]
        contact = next((c for c in own if c.is_verified), own[0] if own else None)
        verified = contact is not None and contact.is_verified
        return Sender(email, contact, account, not verified, reseller_id)
    contact = next((c for c in contacts if c.is_verified), contacts[0] if contacts else None)
    account = contact.account if contact else None
    needs = contact is not None and account is not None and not contact.is_verified
    return Sender(email, contact, account, needs, reseller_id)


def sender_belongs_to(
    ticket: Ticket, email: str, contacts: Sequence[Contact] | None = None
) -> bool:
    """Return whether ``email`` is the ticket's contact, a contact of its account, or
    the address that has been writing on it (tickets without a known contact).
    ``contacts`` are the address's contacts when the caller already has them."""
    if contacts is None:
        contacts = list(contacts_by_email(email))
    if ticket.contact_id and any(c.pk == ticket.contact_id for c in contacts):
        return True
    if ticket.account_id and any(c.account_id == ticket.account_id for c in contacts):
        return True
    return Message.objects.filter(
        ticket=ticket, channel="email", direction="inbound", metadata__from=email
    ).exists()


def recipients(parsed: ParsedEmail) -> list[str]:
    """Return every address the mail was delivered to, envelope first, lower-cased."""
    ordered = [*parsed.delivered_to, *parsed.to, *parsed.cc]
    return list(dict.fromkeys(a.strip().lower() for a in ordered if "@" in a))


def route(parsed: ParsedEmail, departments: Sequence[Department] | None = None) -> Department:
    """Pick the department: the first inbox the mail was sent to; abuse reports go to
    the legal/abuse department whatever inbox they reached. ``departments`` are the
    active departments when the caller (a batch) has already loaded them."""
    if departments is None:
        departments = list(Department.objects.filter(is_active=True))
    inboxes = {d.inbox_email.lower(): d for d in departments}
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
