"""The portal's "submit a ticket" rules, shared by the portal form and ``POST /api/v1/tickets/``.

Who / what / when become one first message; the topic picks the department: technical
problems go to technical support (the only place severity 1 is accepted), abuse reports
to the legal team, and custom development is not a support ticket at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, MailOut, mail_queue
from tickets.errors import InvalidInput
from tickets.models import Account, Contact, Department, Severity, Ticket
from tickets.services import AttachmentIn, MessageIn, MessageResult, ticket_open

TECHNICAL, ACCOUNT, ABUSE, CUSTOM_DEVELOPMENT = (
    "technical",
    "account",
    "abuse",
    "custom_development",
)
TOPICS = {
    ACCOUNT: ("Account, billing or settings question", "customer-support"),
    TECHNICAL: ("Technical problem (errors, API, domains, orders)", "technical-support"),
    ABUSE: ("Abuse report (phishing, fraud, copyright)", "legal-abuse"),
    CUSTOM_DEVELOPMENT: ("Custom development request", None),
}
CUSTOM_DEVELOPMENT_ANSWER = (
    "Custom development is not handled by support. Describe what you need on the community "
    "forum: our developers pick up requests there and offer co-development when several "
    "customers need the same feature."
)
SEVERITY_1_RULE = (
    "Severity 1 (critical) is for technical problems only and goes to technical support: "
    "choose 'Technical problem' or a lower severity."
)


@dataclass(frozen=True)
class Submission:
    """What a customer tells us: who, what, when."""

    topic: str
    subject: str
    description: str
    channel: str
    severity: int = Severity.S3
    details: str = ""
    happened_at: datetime | None = None
    contact: Contact | None = None
    account: Account | None = None
    from_email: str = ""
    external_id: str | None = None
    attachments: Sequence[AttachmentIn] = field(default_factory=tuple)
    # Where to mail the ticket number (the portal: the contact's address); empty: nowhere.
    confirm_to: str = ""


def submission_check(*, topic: str, severity: int) -> Department:
    """Return the department for ``topic``; raise InvalidInput for a request support refuses."""
    if topic not in TOPICS:
        raise InvalidInput("topic", f"Choose one of: {', '.join(TOPICS)}.")
    if topic == CUSTOM_DEVELOPMENT:
        raise InvalidInput("topic", CUSTOM_DEVELOPMENT_ANSWER)
    if severity == Severity.S1 and topic != TECHNICAL:
        raise InvalidInput("severity", SEVERITY_1_RULE)
    slug = TOPICS[topic][1]
    department = Department.objects.filter(slug=slug, is_active=True).first()
    if department is None:
        raise InvalidInput("topic", f"The {slug} department is not set up; write to us by email.")
    return department


@transaction.atomic
def submission_open(submission: Submission) -> MessageResult:
    """Open the ticket for a submission (idempotent on its external id) and, for a new
    ticket, store the confirmation mail to ``confirm_to`` in the same transaction."""
    department = submission_check(topic=submission.topic, severity=submission.severity)
    account = submission.account or (submission.contact.account if submission.contact else None)
    parts = [submission.description.strip()]
    if submission.details.strip():
        parts.append("Domains, order IDs, API calls:\n" + submission.details.strip())
    if submission.happened_at:
        parts.append(f"When it happened: {submission.happened_at.isoformat()}")
    metadata = {"topic": submission.topic}
    if account is not None and account.reseller_id:
        metadata["reseller_id"] = account.reseller_id
    if submission.from_email:
        metadata["from"] = submission.from_email
    if submission.happened_at:
        metadata["happened_at"] = submission.happened_at.isoformat()
    result = ticket_open(
        subject=submission.subject,
        department=department,
        severity=submission.severity,
        contact=submission.contact,
        account=account,
        message=MessageIn(
            channel=submission.channel,
            body_text="\n\n".join(parts),
            author_contact=submission.contact,
            external_id=submission.external_id,
            metadata=metadata,
            attachments=tuple(submission.attachments),
        ),
    )
    if result.created and submission.confirm_to:
        submission_confirm(ticket=result.ticket, to=submission.confirm_to)
    return result


def submission_confirm(*, ticket: Ticket, to: str) -> None:
    """Queue the mail with the ticket number to the customer (the portal shows it too)."""
    body = _(
        "Thank you for contacting support. Your ticket number is %(ref)s.\n"
        "Keep it handy when you call us or reply, and we will find your request at once.\n\n"
        "Subject: %(subject)s\nDepartment: %(department)s\n"
    ) % {"ref": ticket.reference, "subject": ticket.subject, "department": ticket.department}
    mail_queue(
        MailOut(
            kind=MailKind.SUBMISSION,
            to=[to],
            subject=_("[%(ref)s] We received your request: %(subject)s")
            % {"ref": ticket.reference, "subject": ticket.subject},
            body_text=body,
            headers=AUTO_GENERATED,
            ticket=ticket,
        )
    )
