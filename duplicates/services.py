"""Detect duplicates of a ticket, and act on the flags (merge, dismiss).

``detect_duplicates`` is what the Celery task, the evaluation command and the tests run.
It is idempotent: running it again refreshes the ticket's signature and flag scores but
never creates a second flag, note, notification or merge for the same pair.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tickets.errors import MergeError
from tickets.models import Channel, Direction, Message, Status, Ticket
from tickets.services import MessageIn, message_add, ticket_merge

from . import minhash, notifications
from .features import Features, build_features, retrieval_keys
from .models import DuplicateBand, DuplicateFlag, FlagStatus, TicketSignature
from .scoring import Match, compare

log = logging.getLogger(__name__)

MAX_CANDIDATES = 200  # keys of one account rarely match more; bounds the worst case
MAX_TEXT = 20_000
_NOT_CANDIDATES = (Status.MERGED, Status.CLOSED)


@dataclass(frozen=True)
class ScoredCandidate:
    """One earlier ticket compared with the new one."""

    ticket_id: int
    reference: str
    score: float
    reasons: tuple[str, ...]
    exact: bool


@dataclass
class DetectionResult:
    """What one detection run found and did."""

    ticket_id: int
    scored: list[ScoredCandidate] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)
    merged_into: int | None = None


def detect_duplicates(
    ticket_id: int, *, notify: bool = True, auto_merge: bool | None = None
) -> DetectionResult:
    """Compare the ticket with the open tickets of its contact and account; flag matches.

    ``notify`` False skips the internal note and the e-mails (the evaluation command);
    ``auto_merge`` overrides ``DUPLICATES_AUTO_MERGE_EXACT``.
    """
    result = DetectionResult(ticket_id=ticket_id)
    ticket = Ticket.objects.select_related("duplicate_signature").filter(pk=ticket_id).first()
    if ticket is None or ticket.status in _NOT_CANDIDATES:
        return result
    features = signature_store(ticket)
    threshold = settings.DUPLICATES_THRESHOLD
    matches: list[tuple[Match, TicketSignature]] = []
    for other in _candidate_signatures(ticket, features):
        match = compare(features, _features_of(other))
        matches.append((match, other))
        result.scored.append(
            ScoredCandidate(
                ticket_id=other.ticket_id,
                reference=other.ticket.reference,
                score=match.score,
                reasons=match.reasons,
                exact=match.exact,
            )
        )
    result.scored.sort(key=lambda c: (-c.score, c.ticket_id))
    flagged = sorted(
        (m for m in matches if m[0].score >= threshold), key=lambda m: (-m[0].score, m[1].pk)
    )
    new_flags = [flag for match, other in flagged if (flag := _flag(ticket, other, match))]
    result.flagged = [other.ticket_id for _, other in flagged]

    if auto_merge is None:
        auto_merge = settings.DUPLICATES_AUTO_MERGE_EXACT
    resend = _exact_resend(ticket, features, flagged) if auto_merge else None
    if resend is not None:
        if _auto_merge(ticket, resend, notify=notify):
            result.merged_into = resend.ticket_id
            return result
    if notify and new_flags:
        _note_and_notify(ticket, new_flags)
    return result


def signature_store(ticket: Ticket) -> Features:
    """Compute the ticket's features and (re)file its signature and retrieval keys."""
    features = ticket_features(ticket)
    keys = set(retrieval_keys(features))
    identifiers = {k: sorted(v) for k, v in features.identifiers.items()}
    previous = getattr(ticket, "duplicate_signature", None)  # select_related'ed by callers
    if previous is not None and (
        previous.text_hash,
        previous.tokens,
        previous.identifiers,
        previous.contact_id,
        previous.account_id,
    ) == (
        features.text_hash,
        list(features.tokens),
        identifiers,
        features.contact_id,
        features.account_id,
    ):
        return features  # nothing changed since the last run: keys are filed
    row = TicketSignature(
        ticket=ticket,
        contact_id=features.contact_id,
        account_id=features.account_id,
        occurred_at=features.occurred_at,
        text_hash=features.text_hash,
        tokens=list(features.tokens),
        subject_tokens=list(features.subject_tokens),
        identifiers=identifiers,
        minhash=minhash.pack(features.minhash),
        updated_at=timezone.now(),
    )
    # Keys and signature change together (one transaction: bulk_create would open one per
    # statement anyway).
    with transaction.atomic():
        filed: set[int] = set()
        if previous is not None:
            filed = set(
                DuplicateBand.objects.filter(ticket=ticket).values_list("band_key", flat=True)
            )
            if filed - keys:
                DuplicateBand.objects.filter(ticket=ticket, band_key__in=filed - keys).delete()
        DuplicateBand.objects.bulk_create(
            [
                DuplicateBand(
                    band_key=key,
                    ticket=ticket,
                    contact_id=ticket.contact_id,
                    account_id=ticket.account_id,
                    created_at=ticket.created_at,
                )
                for key in sorted(keys - filed)
            ],
            ignore_conflicts=True,
        )
        # One statement whether the signature is new or refreshed (a concurrent run too).
        TicketSignature.objects.bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["ticket"],
            update_fields=[f.name for f in TicketSignature._meta.concrete_fields[1:]],
        )
    return features


def ticket_features(ticket: Ticket) -> Features:
    """Return the features of the ticket's own customer messages (not merged-in ones)."""
    messages = list(
        Message.objects.filter(ticket=ticket, direction=Direction.INBOUND, merged_from__isnull=True)
        .order_by("occurred_at", "id")
        .values_list("body_text", "occurred_at", "channel")[:20]
    )
    body = "\n\n".join(text for text, _, _ in messages)[:MAX_TEXT]
    return build_features(
        subject=ticket.subject,
        body=body,
        channel=ticket.origin_channel,
        occurred_at=messages[0][1] if messages else ticket.created_at,
        contact_id=ticket.contact_id,
        account_id=ticket.account_id,
        ticket_prefix=settings.SUPPORTDESK_TICKET_PREFIX,
    )


def flags_dismiss_pair(*, first_id: int, second_id: int) -> int:
    """Dismiss the flags between two tickets (either way round); return how many changed.

    Called when an agent un-merges the pair: they are not duplicates after all, so
    detection must not suggest (or auto-merge) them again.
    """
    return DuplicateFlag.objects.filter(
        Q(ticket_id=first_id, candidate_id=second_id)
        | Q(ticket_id=second_id, candidate_id=first_id)
    ).update(status=FlagStatus.DISMISSED, updated_at=timezone.now())


def flag_dismiss(*, flag: DuplicateFlag, actor: AbstractBaseUser | None = None) -> DuplicateFlag:
    """Mark the flag as not a duplicate; detection will not raise it again."""
    flag.status, flag.updated_at = FlagStatus.DISMISSED, timezone.now()
    flag.save(update_fields=["status", "updated_at"])
    log.info("duplicate flag %s dismissed by %s", flag.pk, actor)
    return flag


@transaction.atomic
def flag_merge(
    *,
    flag: DuplicateFlag,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    cloned_by_customer: bool = False,
) -> Ticket:
    """Merge the flagged ticket into its (older) candidate via ``tickets.services``.

    ``cloned_by_customer`` marks the merged ticket as a copy the customer sent on their own.
    """
    survivor = ticket_merge(
        source=flag.ticket,
        target=flag.candidate,
        actor=actor,
        reason=reason or f"duplicate (score {flag.score:.2f}): " + "; ".join(flag.reasons),
        cloned_by_customer=cloned_by_customer,
    )
    flag.status, flag.updated_at = FlagStatus.MERGED, timezone.now()
    flag.save(update_fields=["status", "updated_at"])
    return survivor


# --- helpers ---------------------------------------------------------------------------


def _candidate_signatures(ticket: Ticket, features: Features) -> list[TicketSignature]:
    """Return the signatures of the live, older tickets that share a key or the contact.

    Two indexed queries whatever the table sizes: the ticket ids (key lookup UNION the
    contact's tickets in the window), then their signatures.
    """
    since = ticket.created_at - timedelta(days=settings.DUPLICATES_WINDOW_DAYS)
    window = {"created_at__gte": since, "created_at__lte": ticket.created_at}
    found = (
        DuplicateBand.objects.filter(band_key__in=retrieval_keys(features), **window)
        .values_list("ticket_id", flat=True)
        .order_by()
    )
    if ticket.contact_id is not None:
        found = found.union(
            Ticket.objects.filter(contact_id=ticket.contact_id, **window)
            .values_list("pk", flat=True)
            .order_by()
        )
    ids = set(found[: MAX_CANDIDATES + 1]) - {ticket.pk}
    if not ids:
        return []
    rows = {s.ticket_id: s for s in _signatures().filter(ticket_id__in=ids)}
    if missing := ids - rows.keys():  # opened before detection ran for them: file them now
        for older in Ticket.objects.select_related("duplicate_signature").filter(pk__in=missing):
            if older.status not in _NOT_CANDIDATES:
                signature_store(older)
        rows.update((s.ticket_id, s) for s in _signatures().filter(ticket_id__in=missing))
    return [
        s
        for s in rows.values()
        if s.ticket.status not in _NOT_CANDIDATES
        and (s.ticket.created_at, s.ticket_id) < (ticket.created_at, ticket.pk)
    ]


def _signatures() -> QuerySet[TicketSignature]:
    return TicketSignature.objects.select_related("ticket").only(
        *(f.name for f in TicketSignature._meta.concrete_fields),
        "ticket__number",
        "ticket__status",
        "ticket__created_at",
    )


def _features_of(row: TicketSignature) -> Features:
    return Features(
        tokens=tuple(row.tokens),
        subject_tokens=tuple(row.subject_tokens),
        identifiers={k: frozenset(v) for k, v in row.identifiers.items()},
        text_hash=row.text_hash,
        minhash=tuple(minhash.unpack(row.minhash)),
        occurred_at=row.occurred_at,
        contact_id=row.contact_id,
        account_id=row.account_id,
    )


def _flag(ticket: Ticket, other: TicketSignature, match: Match) -> DuplicateFlag | None:
    """Create or refresh the flag; return it only when it is new."""
    now = timezone.now()
    try:
        with transaction.atomic():
            flag, created = DuplicateFlag.objects.get_or_create(
                ticket=ticket,
                candidate_id=other.ticket_id,
                defaults={"score": match.score, "reasons": list(match.reasons)},
            )
    except IntegrityError:  # a concurrent run created it first
        return None
    if not created and flag.status == FlagStatus.SUGGESTED and flag.score != match.score:
        flag.score, flag.reasons, flag.updated_at = match.score, list(match.reasons), now
        flag.save(update_fields=["score", "reasons", "updated_at"])
    return flag if created else None


def _exact_resend(
    ticket: Ticket, features: Features, flagged: list[tuple[Match, TicketSignature]]
) -> TicketSignature | None:
    limit = timedelta(minutes=settings.DUPLICATES_EXACT_MINUTES)
    for match, other in flagged:
        if (
            match.exact
            and ticket.contact_id is not None
            and other.contact_id == ticket.contact_id
            and features.occurred_at
            and other.occurred_at
            and abs(features.occurred_at - other.occurred_at) <= limit
        ):
            return other
    return None


def _auto_merge(ticket: Ticket, target: TicketSignature, *, notify: bool) -> bool:
    flag = DuplicateFlag.objects.get(ticket=ticket, candidate_id=target.ticket_id)
    if flag.status != FlagStatus.SUGGESTED:
        return False
    try:
        with transaction.atomic():
            survivor = flag_merge(
                flag=flag,
                reason=f"exact re-send of {target.ticket.reference} (automatic)",
                cloned_by_customer=True,
            )
            DuplicateFlag.objects.filter(pk=flag.pk).update(auto_merged=True)
    except MergeError as exc:  # one of them was merged or closed meanwhile
        log.info("auto-merge of ticket %s skipped: %s", ticket.pk, exc)
        return False
    if notify:
        transaction.on_commit(
            lambda: notifications.tell_customer_merged(ticket_id=ticket.pk, survivor=survivor)
        )
    return True


def _note_and_notify(ticket: Ticket, flags: list[DuplicateFlag]) -> None:
    lines = [
        f"Possible duplicate of {flag.candidate.reference} (score {flag.score:.2f}): "
        + "; ".join(flag.reasons)
        for flag in flags
    ]
    message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text="\n".join(lines),
            metadata={"duplicates": [flag.pk for flag in flags]},
        ),
    )
    flag_ids = [flag.pk for flag in flags]
    transaction.on_commit(lambda: notifications.tell_assignees(flag_ids=flag_ids))
