"""One outage, many customers: propose a problem ticket, link its incidents, answer all.

When tickets of ``DUPLICATES_PROBLEM_ACCOUNTS`` or more accounts (or account-less
contacts) name the same error code or service within ``DUPLICATES_PROBLEM_WINDOW_HOURS``,
detection files a ``ProblemProposal`` (one per code while it is proposed; later reports
update its count). An agent accepts it: a problem ticket opens with those tickets linked
as incidents (``tickets.problems``). One reply written once per language then goes to
every live incident on its own channel, in its customer's language, through the same
reply path an agent's single reply takes.

Counting and finding incidents are lookups in the ``DuplicateBand`` key index, never a
scan of tickets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from tickets.errors import TicketError
from tickets.models import Department, Direction, Message, Status, Ticket
from tickets.problems import FINISHED, problem_open
from tickets.reply_senders import reply_sender, ticket_reply
from tickets.services import MessageIn, message_add

from . import language
from .features import Features, outage_keys
from .models import DuplicateBand, ProblemProposal, ProposalStatus, TicketSignature

log = logging.getLogger(__name__)

_BAND = DuplicateBand._meta.db_table
_TICKET = Ticket._meta.db_table


def proposals_for(ticket_id: int) -> list[int]:
    """File or refresh the proposals the ticket's filed signature calls for; return their
    ids. Detection's follow-up (the ``duplicates.propose`` task, queued for tickets that
    name an error code or service), so counting customers stays out of each check."""
    signature = (
        TicketSignature.objects.filter(ticket_id=ticket_id)
        .select_related("ticket")
        .only("identifiers", "ticket__created_at", "ticket__status")
        .first()
    )
    if signature is None or signature.ticket.status in (Status.MERGED, Status.CLOSED):
        return []
    identifiers = {kind: frozenset(values) for kind, values in signature.identifiers.items()}
    features = Features(
        tokens=(), subject_tokens=(), identifiers=identifiers, text_hash="", minhash=()
    )
    return proposals_update(
        ticket_id=ticket_id, created_at=signature.ticket.created_at, features=features
    )


def proposals_update(*, ticket_id: int, created_at, features: Features) -> list[int]:
    """File or refresh the proposals the ticket's error codes and services call for;
    return their ids. One grouped index query, and none for a ticket naming no code."""
    keys = outage_keys(features)
    if not keys:
        return []
    adapt = connection.ops.adapt_datetimefield_value
    since = created_at - timedelta(hours=settings.DUPLICATES_PROBLEM_WINDOW_HOURS)
    with connection.cursor() as cursor:
        cursor.execute(
            # Customers, not tickets: an account-less contact counts as its own customer.
            "SELECT band_key, COUNT(DISTINCT COALESCE(account_id, -contact_id)) "  # noqa: S608
            f"FROM {_BAND} WHERE band_key IN ({', '.join(['%s'] * len(keys))}) "
            "AND created_at >= %s AND created_at <= %s GROUP BY band_key",
            [*keys, adapt(since), adapt(created_at)],
        )
        counts = dict(cursor.fetchall())
    due = {key: n for key, n in counts.items() if n >= settings.DUPLICATES_PROBLEM_ACCOUNTS}
    if not due:
        return []
    handled = set(
        ProblemProposal.objects.filter(
            band_key__in=due, status=ProposalStatus.OPENED, problem__status__in=_LIVE
        ).values_list("band_key", flat=True)
    )
    ids = []
    for key, accounts in due.items():
        if key in handled:
            continue  # its problem ticket is open: agents link the new incidents to it
        kind, value = keys[key]
        proposal, created = ProblemProposal.objects.get_or_create(
            band_key=key,
            status=ProposalStatus.PROPOSED,
            defaults={
                "kind": kind,
                "value": value,
                "accounts": accounts,
                "first_ticket_id": ticket_id,
            },
        )
        if not created and proposal.accounts != accounts:
            ProblemProposal.objects.filter(pk=proposal.pk).update(
                accounts=accounts, updated_at=timezone.now()
            )
        ids.append(proposal.pk)
    return ids


def proposal_incidents(proposal: ProblemProposal) -> list[Ticket]:
    """Return the live tickets naming the proposal's code or service (from its first
    report's window on), not yet linked to a problem, oldest first."""
    first = proposal.first_ticket.created_at
    since = first - timedelta(hours=settings.DUPLICATES_PROBLEM_WINDOW_HOURS)
    ids = DuplicateBand.objects.filter(band_key=proposal.band_key, created_at__gte=since)
    return list(
        Ticket.objects.filter(pk__in=ids.values("ticket_id"), problem__isnull=True)
        .exclude(status__in=FINISHED)
        .exclude(is_problem=True)
        .order_by("created_at", "pk")
    )


@transaction.atomic
def proposal_accept(
    *,
    proposal: ProblemProposal,
    actor: User | None = None,
    subject: str = "",
    department: Department | None = None,
) -> Ticket:
    """Open the problem ticket with the proposal's incidents linked; return it."""
    locked = ProblemProposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status == ProposalStatus.OPENED and locked.problem is not None:
        return locked.problem
    incidents = proposal_incidents(locked)
    label = "Error" if locked.kind == "error" else "Service"
    problem = problem_open(
        subject=subject or f"{label} {locked.value}: reported by {len(incidents)} customers",
        department=department or (incidents[0].department if incidents else _department()),
        description=f"{len(incidents)} customers report {locked.kind} {locked.value}.",
        actor=actor,
        incidents=incidents,
    )
    locked.status, locked.problem, locked.updated_at = (
        ProposalStatus.OPENED,
        problem,
        timezone.now(),
    )
    locked.save(update_fields=["status", "problem", "updated_at"])
    return problem


def proposal_dismiss(*, proposal: ProblemProposal) -> ProblemProposal:
    """Not one problem after all: the proposal leaves the agents' list."""
    proposal.status, proposal.updated_at = ProposalStatus.DISMISSED, timezone.now()
    proposal.save(update_fields=["status", "updated_at"])
    return proposal


@dataclass
class ReplyResult:
    """What a reply to all incidents did: the messages sent, and the incidents it could
    not answer with the reason (each fails alone)."""

    sent: list[Message] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def problem_reply_all(
    *, problem: Ticket, bodies: dict[str, str], actor: User, default: str = "en"
) -> ReplyResult:
    """Answer every live incident of ``problem`` once, on its own channel and in its
    customer's language.

    ``bodies`` maps a language (``en``, ``nl``, ``de``, ``es``, ``ru``) to the reply text;
    an incident in a language without a text gets ``bodies[default]``. Channels with a
    registered reply sender (email) go through ``tickets.reply_senders.ticket_reply``, the reply
    path of every agents' screen (mail is stored in the outbox and sent by a worker); chat,
    portal and phone replies are
    outbound messages on the incident (the chat window and the portal show them, the
    phone log lists them to read out on the call back).
    """
    if not problem.is_problem:
        raise TicketError(f"{problem.reference} is not a problem ticket.")
    texts = {lang: text.strip() for lang, text in bodies.items() if text.strip()}
    if default not in texts:
        raise TicketError(f"Write the reply in {default!r}: incidents in other languages get it.")
    incidents = list(
        Ticket.objects.filter(problem=problem).exclude(status__in=FINISHED).order_by("pk")
    )
    languages = dict(
        TicketSignature.objects.filter(ticket__in=incidents).values_list("ticket_id", "language")
    )
    result = ReplyResult()
    for incident in incidents:
        lang = languages.get(incident.pk) or _language_of(incident)
        body = texts.get(lang, texts[default])
        try:
            with transaction.atomic():
                result.sent.append(_reply(incident, body, actor, problem))
        except TicketError as exc:  # e.g. no address to mail: the others still get theirs
            result.failed[incident.pk] = str(exc)
    return result


# --- helpers ---------------------------------------------------------------------------

_LIVE = [s for s in Status.values if s not in (Status.CLOSED, Status.MERGED)]


def _reply(incident: Ticket, body: str, actor: User, problem: Ticket) -> Message:
    if reply_sender(incident.origin_channel) is not None:  # email: stored in the outbox
        return ticket_reply(
            ticket=incident, body=body, actor=actor, channel=incident.origin_channel
        )
    return message_add(
        ticket=incident,
        message=MessageIn(
            channel=incident.origin_channel,
            direction=Direction.OUTBOUND,
            body_text=body,
            author_user=actor,
            metadata={"problem": problem.pk, "reply_to_all": True},
        ),
        actor=actor,
    ).message


def _language_of(ticket: Ticket) -> str:
    first = (
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND)
        .order_by("occurred_at", "pk")
        .values_list("body_text", flat=True)
        .first()
    )
    return language.detect(f"{ticket.subject}\n{first or ''}")


def _department() -> Department:
    department = Department.objects.filter(is_active=True).order_by("pk").first()
    if department is None:
        raise TicketError("No active department for the problem ticket: activate one.")
    return department
