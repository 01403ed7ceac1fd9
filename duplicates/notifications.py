"""E-mails about duplicates: to the agents who own the tickets, and to the customer after
an automatic merge. Both are stored in the outbox in the caller's transaction (the flag's
announcement, the merge) and sent by a worker with retries."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext as _

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, AUTO_REPLIED, MailOut, automatic_refusal, mails_queue
from tickets.models import Ticket

from .models import DuplicateFlag

log = logging.getLogger(__name__)


def tell_assignees(*, flag_ids: list[int]) -> int:
    """Queue one mail per flag to the pair's assignees; return the mails queued."""
    return tell_assignees_of(
        list(DuplicateFlag.objects.select_related("ticket", "candidate").filter(pk__in=flag_ids))
    )


def tell_assignees_of(flags: list[DuplicateFlag]) -> int:
    """``tell_assignees`` of flags whose ticket and candidate are loaded (the announcement
    holds them: reading them again with their assignees was a sixth of its CPU); only the
    assignees are read, in one statement, if any of the pairs has one."""
    flags = sorted(flags, key=lambda flag: flag.pk)  # a batch's mails in a stable order
    pairs = [(flag, (flag.ticket.assignee_id, flag.candidate.assignee_id)) for flag in flags]
    wanted = {pk for _, pks in pairs for pk in pks if pk is not None}
    users = get_user_model().objects.in_bulk(wanted)
    mails = []
    for flag, pks in pairs:
        recipients = {
            user.email for user in (users.get(pk) for pk in pks if pk) if user and user.email
        }
        if not recipients:
            continue
        names = {"ticket": flag.ticket.reference, "candidate": flag.candidate.reference}
        subject = f"[{flag.ticket.reference}] " + _("possible duplicate of %(candidate)s") % names
        body = (
            _('%(ticket)s "%(subject)s" looks like a duplicate of %(candidate)s "%(other)s"')
            % {**names, "subject": flag.ticket.subject, "other": flag.candidate.subject}
            + " "
            + _("(score %(score).2f).") % {"score": flag.score}
            + "\n\n"
            + _("Why:")
            + "\n"
            + "\n".join(f"- {reason}" for reason in flag.reasons)
            + "\n\n"
            + _("Merge or dismiss it under Duplicate detection > Duplicate flags in the admin.")
        )
        mails.append(
            MailOut(
                kind=MailKind.DUPLICATE_ALERT,
                to=sorted(recipients),
                subject=subject,
                body_text=body,
                headers=AUTO_GENERATED,
                ticket=flag.ticket,
            )
        )
    return len(mails_queue(mails))


def tell_customer_merged(*, ticket_id: int, survivor: Ticket) -> int:
    """Queue a note to the contact that their re-sent request continues as the
    survivor's number; return 1 if queued. It is an automatic answer to the customer's
    mail: marked Auto-Submitted, and under the same hourly per-address limit as
    acknowledgements (a customer's autoresponder re-sending must not loop with us).

    Written in the language the customer's ticket is answered in, else its line's."""
    ticket = Ticket.objects.select_related("contact", "line").filter(pk=ticket_id).first()
    if ticket is None or ticket.contact is None:
        return 0
    address = (
        ticket.contact.emails.order_by("-is_primary", "id").values_list("email", flat=True).first()
    )
    if not address:
        return 0  # phone-only contacts hear it from the agent
    if refusal := automatic_refusal(address):
        log.info("no merge notice to %s for %s: %s", address, survivor.reference, refusal)
        return 0
    with translation.override(ticket.language or ticket.line.language or "en"):
        body = _merge_notice(survivor)
    mails_queue(
        [
            MailOut(
                kind=MailKind.MERGE_NOTICE,
                to=[address],
                subject=f"[{survivor.reference}] {survivor.subject}",
                body_text=body,
                headers=AUTO_REPLIED,
                ticket=survivor,
            )
        ]
    )
    return 1


def _merge_notice(survivor: Ticket) -> str:
    return _(
        "Hello,\n\nWe received your message again and added it to your existing request "
        "%(ref)s, so one team handles it. Please quote %(ref)s if you write to us about "
        "it.\n\nYour support team"
    ) % {"ref": survivor.reference}
