"""Submitting a ticket: the rules shared by the portal's form and ``POST /api/v1/tickets/``.

Who / what / when become one first message; the topic picks the department of the
support line (the portal's or the integration's): technical problems go to technical
support (where the line allows severity 1 only there), abuse reports to the legal team,
and custom development is not a support ticket where the line sends it to its forum.
The portal also mails the new ticket's number (``portal/submission_mail.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.errors import InvalidInput
from tickets.lines import default_line, line_department, severity_check
from tickets.models import (
    Account,
    Contact,
    Department,
    DepartmentKind,
    Language,
    Severity,
    SupportLine,
)
from tickets.services import AttachmentIn, MessageIn, MessageResult, ticket_open

TECHNICAL, ACCOUNT, ABUSE, CUSTOM_DEVELOPMENT = (
    "technical",
    "account",
    "abuse",
    "custom_development",
)
TOPICS = {
    ACCOUNT: (
        gettext_lazy("Account, billing or settings question"),
        DepartmentKind.CUSTOMER_SUPPORT,
    ),
    TECHNICAL: (
        gettext_lazy("Technical problem (errors, API, domains, orders)"),
        DepartmentKind.TECHNICAL_SUPPORT,
    ),
    ABUSE: (gettext_lazy("Abuse report (phishing, fraud, copyright)"), DepartmentKind.LEGAL_ABUSE),
    CUSTOM_DEVELOPMENT: (gettext_lazy("Custom development request"), None),
}
CUSTOM_DEVELOPMENT_ANSWER = gettext_lazy(
    "Custom development is not handled by support. Describe what you need on the community "
    "forum: our developers pick up requests there and offer co-development when several "
    "customers need the same feature."
)
REGISTER_FIRST = gettext_lazy(
    "You must register first: technical support takes requests only from registered "
    "contacts. Ask your site's owner to add you as a contact person."
)
SEVERITY_1_RULE = gettext_lazy(
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
    line: SupportLine | None = None  # the portal's or the integration's; None: the default


def submission_check(*, topic: str, severity: int, line: SupportLine | None = None) -> Department:
    """Return the line's department for ``topic``; raise InvalidInput for a request support
    refuses: custom development where the line sends it to the forum, severity 1 outside
    technical support where the line's rule says so, abuse that goes to no legal team."""
    line = line or default_line()
    if topic not in TOPICS:
        raise InvalidInput("topic", _("Choose one of: %(topics)s.") % {"topics": ", ".join(TOPICS)})
    if topic == CUSTOM_DEVELOPMENT:
        if line.customisation_to_forum:
            raise InvalidInput("topic", CUSTOM_DEVELOPMENT_ANSWER)
        topic = ACCOUNT  # a line without a forum takes it as a question
    if severity == Severity.S1 and topic != TECHNICAL and line.severity_1_technical_only:
        raise InvalidInput("severity", SEVERITY_1_RULE)
    kind = TOPICS[topic][1]
    department = line_department(line, kind)
    if department is None and kind == DepartmentKind.TECHNICAL_SUPPORT:
        department = line_department(line, DepartmentKind.CUSTOMER_SUPPORT)
    if department is None and kind == DepartmentKind.LEGAL_ABUSE:  # the desk's legal team
        department = Department.objects.filter(is_active=True, kind=kind).first()
    if department is None:
        text = _("%(line)s has no department for this; write to us by email.")
        raise InvalidInput("topic", text % {"line": line})
    severity_check(line=line, department=department, severity=severity)
    return department


@transaction.atomic
def submission_open(submission: Submission) -> MessageResult:
    """Open the ticket for a submission (idempotent on its external id)."""
    department = submission_check(
        topic=submission.topic, severity=submission.severity, line=submission.line
    )
    if department.registered_contacts_only and not (
        submission.contact is not None and submission.contact.is_verified
    ):
        raise InvalidInput("from_email", REGISTER_FIRST)
    # Abuse goes to the legal team wherever it sits (it may serve the whole desk).
    line = submission.line
    if line is not None and department.line_id not in (None, line.pk):
        line = None
    account = submission.account or (submission.contact.account if submission.contact else None)
    if account is not None and line is not None and account.line_id not in (None, line.pk):
        account = None  # another line's customer: no account information here
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
    return ticket_open(
        subject=submission.subject,
        department=department,
        severity=submission.severity,
        contact=submission.contact,
        account=account,
        line=line,
        language=_language(submission),
        message=MessageIn(
            channel=submission.channel,
            body_text="\n\n".join(parts),
            author_contact=submission.contact,
            external_id=submission.external_id,
            metadata=metadata,
            attachments=tuple(submission.attachments),
        ),
    )


def _language(submission: Submission) -> str:
    """Return the language the customer submitted in (the portal's), if one of ours."""
    contact = submission.contact
    if contact is not None and contact.language:
        return contact.language
    current = (translation.get_language() or "").split("-")[0]
    return current if current in Language.values else ""
