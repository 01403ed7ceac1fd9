"""Who wrote and to whom: contact, account (reseller ID), verification and department."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings

from tickets.lines import contact_in_line
from tickets.models import Account, Contact, Department, LineInbox, Message, SupportLine, Ticket
from tickets.selectors import contacts_by_email, contacts_by_emails

from .parsing import ParsedEmail
from .threading_keys import find_reseller_id


class Hold:
    """Why a new ticket is held as *needs verification* (``Sender.hold``)."""

    UNVERIFIED = "unverified"  # a contact of the account, not verified yet
    UNKNOWN_SENDER = "unknown_sender"  # no contact of this line has the address
    MISSING_RESELLER_ID = "missing_reseller_id"  # the line needs one in every mail
    UNMATCHED_RESELLER_ID = "unmatched_reseller_id"  # quoted, but no account of the line has it


HOLD_NOTES = {
    Hold.UNVERIFIED: "sender is not a verified contact of the account",
    Hold.UNKNOWN_SENDER: "sender is not a registered contact of this support line",
    Hold.MISSING_RESELLER_ID: "the mail quotes no reseller ID",
    Hold.UNMATCHED_RESELLER_ID: "the reseller ID quoted matches no account of this line",
}


@dataclass(frozen=True)
class Sender:
    """What the mail says about its author."""

    email: str
    contact: Contact | None
    account: Account | None
    needs_verification: bool
    reseller_id: str | None
    hold: str = ""  # a Hold value when needs_verification


def identify_sender(parsed: ParsedEmail) -> Sender:
    """Match the sender to a contact and the reseller ID (if quoted) to an account.

    A sender who is not a verified contact of the named account gets the account attached
    but ``needs_verification`` set: agents confirm them before sharing anything.
    """
    return identify_senders([parsed])[0]


def identify_senders(
    mails: Sequence[ParsedEmail],
    contacts: dict[str, list[Contact]] | None = None,
    lines: Sequence[SupportLine | None] | None = None,
) -> list[Sender]:
    """``identify_sender`` for many mails: two queries whatever their number (one if the
    caller passes the senders' ``contacts_by_emails``). ``lines`` are the lines the mails
    reached: only that line's accounts and contacts count, and a new ticket is held for
    verification when its sender is unknown, or the line needs a reseller ID the mail
    lacks or quotes wrongly."""
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
    lines = lines if lines is not None else [None] * len(mails)
    return [
        _sender(email, contacts.get(email, []), accounts.get(reseller_id or ""), reseller_id, line)
        for email, reseller_id, line in zip(emails, reseller_ids, lines, strict=True)
    ]


def _sender(
    email: str,
    contacts: list[Contact],
    account: Account | None,
    reseller_id: str | None,
    line: SupportLine | None,
) -> Sender:
    if line is not None:  # another line's customers are strangers here
        contacts = [c for c in contacts if contact_in_line(c, line)]
        if account is not None and account.line_id not in (None, line.pk):
            account = None
    if account is not None:
        own = [c for c in contacts if c.account_id == account.pk]
        contact = next((c for c in own if c.is_verified), own[0] if own else None)
        verified = contact is not None and contact.is_verified
        hold = "" if verified else Hold.UNVERIFIED if contact else Hold.UNKNOWN_SENDER
        return Sender(email, contact, account, not verified, reseller_id, hold)
    contact = next((c for c in contacts if c.is_verified), contacts[0] if contacts else None)
    account = contact.account if contact else None
    hold = ""
    if contact is not None and account is not None and not contact.is_verified:
        hold = Hold.UNVERIFIED
    # A line that finds accounts by reseller ID needs the ID and a registered sender.
    if line is not None and line.requires_reseller_id:
        if reseller_id:
            hold = Hold.UNMATCHED_RESELLER_ID  # flagged, and kept on the ticket
        elif contact is None:
            hold = Hold.UNKNOWN_SENDER
        else:
            hold = hold or Hold.MISSING_RESELLER_ID
    return Sender(email, contact, account, bool(hold), reseller_id, hold)


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


def our_addresses() -> set[str]:
    """Return the addresses we send from: every inbox and the default sender."""
    ours = {e.lower() for e in Department.objects.values_list("inbox_email", flat=True)}
    ours |= {e.lower() for e in LineInbox.objects.values_list("email", flat=True)}
    for value in (settings.DEFAULT_FROM_EMAIL, settings.SERVER_EMAIL):
        if address := parseaddr(value)[1]:
            ours.add(address.lower())
    return ours
