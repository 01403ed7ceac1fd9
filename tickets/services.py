"""The only writers of tickets and their timelines.

Channels, the admin, the API and Celery tasks call these functions; none of them saves a
Ticket, Message or TicketEvent directly. Every function is atomic, validates its input
with a typed error (``tickets.errors``) and records what it did as a TicketEvent, which is
announced through ``tickets.signals.ticket_events`` once the transaction commits.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from . import status as status_rules
from .errors import InvalidInput, InvalidTransition
from .events import record_event as _record
from .events import record_status_change

# Opening/appending and merging live in their own modules; callers use them from here like
# every other change.
from .inputs import AttachmentIn as AttachmentIn
from .inputs import MessageAdd as MessageAdd
from .inputs import MessageIn as MessageIn
from .inputs import MessageResult as MessageResult
from .inputs import TicketOpen as TicketOpen
from .intake import message_add as message_add
from .intake import messages_add as messages_add
from .intake import ticket_open as ticket_open
from .intake import tickets_open as tickets_open
from .lines import line_check, severity_check
from .merging import ticket_merge as ticket_merge
from .merging import ticket_unmerge as ticket_unmerge
from .models import (
    Channel,
    Contact,
    ContactEmail,
    ContactRole,
    Department,
    Direction,
    EventKind,
    Message,
    Severity,
    Status,
    Ticket,
)
from .problems import incident_unlink as incident_unlink
from .problems import incidents_link as incidents_link
from .problems import problem_open as problem_open
from .problems import problem_solve as problem_solve
from .reply_senders import ticket_reply as ticket_reply
from .splitting import ticket_split as ticket_split
from .tagging import ticket_tags_set as ticket_tags_set
from .versions import ticket_version as ticket_version
from .versions import ticket_version_check as ticket_version_check

# Where a ticket may go next (the rules live in tickets.status; the workspace reads them here).
TRANSITIONS = status_rules.TRANSITIONS


# --- state changes ---------------------------------------------------------------------


@transaction.atomic
def ticket_status_set(
    *, ticket: Ticket, status: str, actor: User | None = None, reason: str = ""
) -> Ticket:
    """Move the ticket to ``status``; raise InvalidTransition if the move is not allowed."""
    if status not in Status.values:
        raise InvalidInput("status", f"{status!r} is not a status; use one of {Status.values}.")
    locked = _lock(ticket)
    if locked.status == status:
        return locked
    if not status_rules.can_move(locked.status, status):
        hint = " Merge tickets with ticket_merge." if status == Status.MERGED else ""
        raise InvalidTransition(
            f"{locked.reference} cannot go from {locked.get_status_display()!r} to "
            f"{Status(status).label!r}.{hint}"
        )
    fields = record_status_change(locked, status, actor, reason=reason)
    locked.updated_at = timezone.now()
    locked.save(update_fields=sorted(fields | {"updated_at"}))
    return locked


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, actor: User | None = None) -> Ticket:
    """Give the ticket to an active staff user, or to nobody (``None``)."""
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise InvalidInput("assignee", f"{assignee} is not an active agent (staff user).")
    locked = _lock(ticket)
    _ensure_live(locked)
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    _record(
        locked,
        EventKind.ASSIGNED,
        actor,
        previous=locked.assignee_id,
        assignee=assignee.pk if assignee else None,
    )
    locked.assignee = assignee
    locked.updated_at = timezone.now()
    locked.save(update_fields=["assignee", "updated_at"])
    return locked


@transaction.atomic
def ticket_department_set(
    *, ticket: Ticket, department: Department, actor: User | None = None
) -> Ticket:
    """Hand the ticket to another department (an escalation the SLA clocks can see)."""
    if not department.is_active:
        raise InvalidInput("department", f"{department} is inactive; choose an active department.")
    locked = _lock(ticket)
    _ensure_live(locked)
    if locked.department_id == department.pk:
        return locked
    # Escalations stay within the ticket's line, and an S1 ticket stays in technical support.
    line_check(line=locked.line, department=department, severity=locked.severity)
    _record(
        locked,
        EventKind.DEPARTMENT_CHANGED,
        actor,
        previous=locked.department_id,
        department=department.pk,
    )
    locked.department = department
    locked.updated_at = timezone.now()
    locked.save(update_fields=["department", "updated_at"])
    return locked


@transaction.atomic
def ticket_severity_set(*, ticket: Ticket, severity: int, actor: User | None = None) -> Ticket:
    """Change the ticket's severity (1 critical … 4 low)."""
    if severity not in Severity.values:
        raise InvalidInput(
            "severity", f"{severity!r} is not a severity; use 1 (critical) to 4 (low)."
        )
    locked = _lock(ticket)
    _ensure_live(locked)
    if locked.severity == severity:
        return locked
    severity_check(line=locked.line, department=locked.department, severity=severity)
    _record(locked, EventKind.SEVERITY_CHANGED, actor, previous=locked.severity, severity=severity)
    locked.severity = severity
    locked.updated_at = timezone.now()
    locked.save(update_fields=["severity", "updated_at"])
    return locked


@transaction.atomic
def ticket_sender_verify(*, ticket: Ticket, actor: User | None = None) -> Ticket:
    """Confirm the sender of a ticket marked *needs verification*, after an agent checked
    them (e.g. with the account owner): the sender becomes a verified contact of the
    ticket's account (added if new), the ticket gets that contact and loses the flag.
    """
    locked = _lock(ticket)
    _ensure_live(locked)
    if not locked.needs_verification:
        return locked
    if locked.account_id is None:
        raise InvalidInput(
            "account", f"{locked.reference} names no account: there is nothing to verify for."
        )
    contact = locked.contact if locked.contact_id else None
    email, name = _first_sender(locked)
    if contact is None or contact.account_id != locked.account_id:
        if not email:
            raise InvalidInput(
                "contact", f"{locked.reference} has no sender address to add as a contact."
            )
        contact = Contact.objects.filter(
            account_id=locked.account_id, emails__email=email
        ).first() or _contact_add(locked, email, name)
    contact = contact_verify(contact=contact)
    _record(locked, EventKind.SENDER_VERIFIED, actor, contact=contact.pk, email=email)
    locked.contact = contact
    locked.needs_verification = False
    locked.updated_at = timezone.now()
    locked.save(update_fields=["contact", "needs_verification", "updated_at"])
    return locked


@transaction.atomic
def contact_verify(*, contact: Contact) -> Contact:
    """Make the contact a verified one of its account (an unverified one becomes an
    authorized contact); support may then share the account's information with it."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.role == ContactRole.UNVERIFIED or contact.verified_at is None:
        if contact.role == ContactRole.UNVERIFIED:
            contact.role = ContactRole.AUTHORIZED
        contact.verified_at = timezone.now()
        contact.save(update_fields=["role", "verified_at"])
    return contact


def contact_tickets_verify(*, contact: Contact) -> int:
    """Clear *needs verification* on the live tickets the contact wrote to its account,
    once the contact is verified (e.g. approved by the account owner); return how many."""
    if not contact.is_verified:
        return 0
    flagged = Ticket.objects.filter(
        contact=contact, account=contact.account_id, needs_verification=True
    ).exclude(status__in=status_rules.FINISHED)
    count = 0
    for ticket in flagged:
        ticket_sender_verify(ticket=ticket)
        count += 1
    return count


# --- helpers ---------------------------------------------------------------------------


def _first_sender(ticket: Ticket) -> tuple[str, str]:
    """Return the address and name of whoever wrote the ticket's first inbound email."""
    metadata = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, channel=Channel.EMAIL)
        .order_by("occurred_at", "id")
        .values_list("metadata", flat=True)
        .first()
    ) or {}
    return (metadata.get("from") or "").strip().lower(), metadata.get("from_name") or ""


def _contact_add(ticket: Ticket, email: str, name: str) -> Contact:
    contact = Contact.objects.create(
        account_id=ticket.account_id, name=name[:200] or email, role=ContactRole.AUTHORIZED
    )
    ContactEmail.objects.create(contact=contact, email=email, is_primary=True)
    return contact


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _ensure_live(ticket: Ticket) -> None:
    if ticket.status == Status.MERGED:
        raise InvalidTransition(
            f"{ticket.reference} was merged into another ticket; change that ticket instead."
        )
