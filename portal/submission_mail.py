"""The portal's confirmation of a submitted ticket: the mail with its number."""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, MailOut, mail_queue
from tickets.models import Ticket
from tickets.services import MessageResult
from tickets.submission import Submission, submission_open


@transaction.atomic
def submission_open_confirmed(submission: Submission, *, confirm_to: str) -> MessageResult:
    """Open the ticket for a submission (``tickets.submission``) and, for a new ticket,
    store the confirmation mail to ``confirm_to`` (if any) in the same transaction."""
    result = submission_open(submission)
    if result.created and confirm_to:
        submission_confirm(ticket=result.ticket, to=confirm_to)
    return result


def submission_confirm(*, ticket: Ticket, to: str) -> None:
    """Queue the mail with the ticket number to the customer (the portal shows it too), in
    the ticket's language."""
    with translation.override(ticket.language or ticket.line.language):
        _submission_confirm(ticket, to)


def _submission_confirm(ticket: Ticket, to: str) -> None:
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
