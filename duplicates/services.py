"""Detect duplicates of a ticket, and act on the flags (announce, merge, dismiss).

``duplicates_detect`` is what the Celery task, the evaluation command and the tests run.
It is idempotent: running it again refreshes the ticket's signature and flag scores but
never creates a second flag, note, notification or merge for the same pair.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from tickets.errors import MergeError
from tickets.models import Channel, Direction, Severity, Status, Ticket
from tickets.services import MessageAdd, MessageIn, messages_add, ticket_merge

from . import notifications, signatures
from .features import Features, outage_keys
from .models import DuplicateFlag, FlagStatus
from .scoring import Match, below, compare, score
from .signatures import Candidate, TicketRow

log = logging.getLogger(__name__)


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
    to_announce: bool = False  # new flags wait for the ``duplicates.announce`` task
    # Names an error code or service: the ``duplicates.propose`` task counts the customers
    # reporting it and files a problem proposal (``problems.proposals_for``).
    to_propose: bool = False


def duplicates_detect(
    ticket_id: int,
    *,
    notify: bool = True,
    auto_merge: bool | None = None,
    queue_announcement: bool = True,
    filed: tuple[TicketRow, Features] | None = None,
    looked_up: list[Candidate] | None = None,
    scored: bool = True,
    pending: list[DuplicateFlag] | None = None,
) -> DetectionResult:
    """Compare the ticket with the open tickets of its contact and account; flag matches.

    New flags are announced (internal note, assignee mail) by the ``duplicates.announce``
    task queued on commit, so this step stays a few statements per ticket. ``notify``
    False skips that and the customer mail (the evaluation command); ``auto_merge``
    overrides ``DUPLICATES_AUTO_MERGE_EXACT``. ``queue_announcement`` False leaves queueing
    the announcement to the caller (``result.to_announce``), which batches them.
    ``filed`` and ``looked_up`` are the row, features and candidates the caller read with
    other tickets' (``duplicates_detect_many``). ``scored`` False leaves ``result.scored``
    empty: only the flagged candidates are explained (their reasons), which the caller
    that reads only the flags (``duplicates_detect_many``) needs. ``pending``: the new
    flags of a ticket's first run go there for the caller to file with other tickets'
    (``flags_file_pending``), unless it is an exact re-send to merge now.
    """
    result = DetectionResult(ticket_id=ticket_id)
    if filed is not None:  # read and filed by the caller with others (duplicates_detect_many)
        row, features = filed
    else:
        found = signatures.ticket_row(ticket_id)
        if found is None or found.status in signatures.NOT_CANDIDATES:
            return result
        row = found
        # File before looking up: of two similar tickets detected at the same time, the
        # later lookup then sees the other's keys.
        features = signatures.signature_store(row)
    # Many accounts naming one error code or service: a problem ticket is proposed by the
    # follow-up task, so this check stays a few statements.
    result.to_propose = bool(outage_keys(features))
    if result.to_propose and queue_announcement:
        transaction.on_commit(lambda: _queue_propose([ticket_id]))
    threshold = settings.DUPLICATES_THRESHOLD
    flagged: list[tuple[Match, Candidate]] = []
    if looked_up is None:
        looked_up = signatures.candidates(row, features)
    for other in looked_up:
        if not scored and (
            below(features, other.features, threshold)
            or score(features, other.features) < threshold
        ):
            continue  # the same score compare gives, without building its reasons
        match = compare(features, other.features)
        if match.score >= threshold:
            flagged.append((match, other))
        if scored:
            result.scored.append(
                ScoredCandidate(
                    ticket_id=other.ticket_id,
                    reference=other.reference,
                    score=match.score,
                    reasons=match.reasons,
                    exact=match.exact,
                )
            )
    result.scored.sort(key=lambda c: (-c.score, c.ticket_id))
    flagged.sort(key=lambda m: (-m[0].score, m[1].ticket_id))
    result.flagged = [other.ticket_id for _, other in flagged]
    if auto_merge is None:
        auto_merge = settings.DUPLICATES_AUTO_MERGE_EXACT
    resend = _exact_resend(row, features, flagged) if auto_merge else None
    if pending and resend is not None:
        flags_file_pending(pending)  # the merge meets the batch's flags as one by one
    first_run = row.filed is None
    if flagged and first_run and pending is not None and resend is None:
        # A ticket's flags are filed after its signature, so on its first run it has none:
        # they all are new, and the caller inserts them with the batch's others.
        pending += _new_flags(ticket_id, flagged, set())
        waiting = True
    else:
        waiting = _flags_file(ticket_id, flagged, first_run=first_run) if flagged else False
    if resend is not None:
        if _auto_merge(ticket_id, resend, notify=notify):
            result.merged_into = resend.ticket_id
            return result
    result.to_announce = notify and waiting
    if result.to_announce and queue_announcement:
        transaction.on_commit(lambda: _queue_announce([ticket_id]))
    return result


def duplicates_detect_many(ticket_ids: Iterable[int]) -> int:
    """Detect duplicates of several tickets, oldest first (what one commit opened or heard
    from), and queue one announcement task for all their new flags; return how many ran.

    One ticket's unexpected error is logged and does not stop the others; a database
    outage (OperationalError) stops the run, whose retry is harmless (idempotent).
    """
    ids = sorted(set(ticket_ids))
    waiting: list[int] = []
    proposing: list[int] = []
    # A young ticket whose reply leaves what detection reads as it was when its last
    # detection ran to its end is not detected again: its features are not built if their
    # inputs are the same (``_file_together``), it is not looked up and scored if they
    # come to the same (``material_hash``). Its candidates are older tickets, whose own
    # later changes a lookup never looked for either.
    filed = _file_together(ids)
    pending: list[DuplicateFlag] = []  # the new flags of first runs, filed together
    done: dict[int, str] = {}  # what each ticket's run read, once it ran to its end
    if filed is not None:
        for pk, (row, features) in list(filed.items()):
            done[pk] = features.inputs + signatures.material_hash(features)
            if row.checked[32:] == done[pk][32:]:
                del filed[pk]  # the same features: only what was read is recorded
    found = _look_up_together(filed)
    try:
        for ticket_id in ids:
            if filed is not None and ticket_id not in filed:
                continue  # gone, merged, closed, or its features as last checked
            try:
                result = duplicates_detect(
                    ticket_id,
                    queue_announcement=False,
                    filed=filed[ticket_id] if filed is not None else None,
                    looked_up=found.get(ticket_id) if found is not None else None,
                    scored=False,  # only the flags are read here
                    pending=pending,
                )
                if result.to_announce:
                    waiting.append(ticket_id)
                if result.to_propose:
                    proposing.append(ticket_id)
                if result.merged_into is not None:
                    # A merged ticket is no candidate any more: as one by one, the later
                    # tickets look up again after it.
                    found = None
                    done.pop(ticket_id, None)
            except OperationalError:
                raise
            except Exception:  # one ticket's bug must not leave the others unchecked
                log.exception("duplicate detection of ticket %s failed", ticket_id)
                done.pop(ticket_id, None)
        # Before what each run read is recorded: a run cut off before its flags are in
        # detects again.
        flags_file_pending(pending)
        signatures.signatures_checked(done)
    finally:
        if waiting:  # what was flagged before a failure is announced all the same
            transaction.on_commit(lambda: _queue_announce(waiting))
        if proposing:
            transaction.on_commit(lambda: _queue_propose(proposing))
    return len(ids)


def _file_together(
    ids: list[int],
) -> dict[int, tuple[TicketRow, Features]] | None:
    """Read the tickets and file their signatures for all of them at once (a statement
    each for the rows, the keys and the signatures of new tickets, where one by one it was
    four per ticket); return each candidate ticket's row and features. Every signature is
    filed before any lookup, as one by one: a lookup only takes earlier tickets, so what
    each finds is the same. None if that failed: the tickets then go one by one."""
    try:
        rows = {
            pk: row
            for pk, row in signatures.ticket_rows(ids).items()
            if row.status not in signatures.NOT_CANDIDATES
        }
        # Those whose features are built from what their last detection read are left
        # out: filed as they were, nothing to detect again.
        features = signatures.signatures_store(list(rows.values()), skip_checked=True)
    except OperationalError:
        raise
    except Exception:  # one ticket's bug: the others are still checked, one by one
        log.exception("filing the signatures of tickets %s together failed", ids[:10])
        return None
    return {pk: (row, features[pk]) for pk, row in rows.items() if pk in features}


def _look_up_together(
    filed: dict[int, tuple[TicketRow, Features]] | None,
) -> dict[int, list[Candidate]] | None:
    """Look up the candidates of all filed tickets at once (a statement per 50 tickets,
    where one by one it was one each); None: the tickets look up one by one."""
    if not filed:
        return None
    try:
        return signatures.candidates_many([filed[pk] for pk in sorted(filed)])
    except OperationalError:
        raise
    except Exception:  # one ticket's bug: the others are still checked, one by one
        log.exception("looking up the candidates of tickets %s together failed", sorted(filed)[:10])
        return None


def flags_announce(*, ticket_id: int) -> list[int]:
    """Post one internal note about the ticket's unannounced flags and mail the assignees.

    Return the flags announced. Each flag is announced once (``announced_at``, under a
    row lock), so a re-delivered or concurrent task posts nothing twice.
    """
    return flags_announce_many(ticket_ids=[ticket_id]).get(ticket_id, [])


@transaction.atomic
def flags_announce_many(*, ticket_ids: Iterable[int]) -> dict[int, list[int]]:
    """Announce the unannounced flags of several tickets in one transaction: a note on
    each ticket (one insert for all), one mail per flag to the pair's assignees; return
    each announced ticket's flags. As ``flags_announce`` ticket by ticket, but the notes'
    events commit together, so the list rows and report facts follow once for the batch
    (one refresh task, where one by one it was one a ticket)."""
    ids = sorted(set(ticket_ids))
    flags = list(
        DuplicateFlag.objects.select_for_update(of=("self",))
        .select_related("candidate")
        .filter(ticket_id__in=ids, status=FlagStatus.SUGGESTED, announced_at=None)
        .order_by("ticket_id", "-score", "candidate_id")  # the same lock order everywhere
    )
    if not flags:
        return {}
    DuplicateFlag.objects.filter(pk__in=[flag.pk for flag in flags]).update(
        announced_at=timezone.now()
    )
    by_ticket: dict[int, list[DuplicateFlag]] = {}
    for flag in flags:
        by_ticket.setdefault(flag.ticket_id, []).append(flag)
    tickets = Ticket.objects.in_bulk(list(by_ticket))
    # Merged meanwhile: a note would land in the survivor and mislead (the flags stay
    # marked announced, as one by one).
    live = {
        pk: group
        for pk, group in by_ticket.items()
        if pk in tickets and tickets[pk].status != Status.MERGED
    }
    if not live:
        return {}
    messages_add(
        [
            MessageAdd(
                ticket=tickets[pk],
                message=MessageIn(
                    channel=Channel.NOTE,
                    direction=Direction.INTERNAL,
                    body_text="\n".join(
                        f"Possible duplicate of {flag.candidate.reference} "
                        f"(score {flag.score:.2f}): " + "; ".join(flag.reasons)
                        for flag in group
                    ),
                    metadata={"duplicates": [flag.pk for flag in group]},
                ),
            )
            for pk, group in live.items()
        ]
    )
    for pk, group in live.items():
        for flag in group:
            flag.ticket = tickets[pk]
    # Stored with the notes, sent after commit.
    notifications.tell_assignees_of([flag for group in live.values() for flag in group])
    return {pk: [flag.pk for flag in group] for pk, group in live.items()}


def flags_dismiss_pair(*, first_id: int, second_id: int) -> int:
    """Dismiss the flags between two tickets (either way round); return how many changed.

    Called when an agent un-merges the pair: they are not duplicates after all, so
    detection must not suggest (or auto-merge) them again.
    """
    return DuplicateFlag.objects.filter(
        Q(ticket_id=first_id, candidate_id=second_id)
        | Q(ticket_id=second_id, candidate_id=first_id)
    ).update(status=FlagStatus.DISMISSED, updated_at=timezone.now())


def flag_dismiss(*, flag: DuplicateFlag, actor: User | None = None) -> DuplicateFlag:
    """Mark the flag as not a duplicate; detection will not raise it again."""
    flag.status, flag.updated_at = FlagStatus.DISMISSED, timezone.now()
    flag.save(update_fields=["status", "updated_at"])
    log.info("duplicate flag %s dismissed by %s", flag.pk, actor)
    return flag


@transaction.atomic
def flag_merge(
    *,
    flag: DuplicateFlag,
    actor: User | None = None,
    reason: str = "",
    cloned_by_customer: bool = False,
    confirm_cross_account: bool = False,
) -> Ticket:
    """Merge the flagged ticket into its (older) candidate via ``tickets.services``.

    ``cloned_by_customer`` marks the merged ticket as a copy the customer sent on their own;
    a pair of two accounts needs ``confirm_cross_account`` (see ``ticket_merge``).
    """
    survivor = ticket_merge(
        source=flag.ticket,
        target=flag.candidate,
        actor=actor,
        reason=reason or f"duplicate (score {flag.score:.2f}): " + "; ".join(flag.reasons),
        cloned_by_customer=cloned_by_customer,
        confirm_cross_account=confirm_cross_account,
    )
    flag.status, flag.updated_at = FlagStatus.MERGED, timezone.now()
    flag.save(update_fields=["status", "updated_at"])
    return survivor


# --- helpers ---------------------------------------------------------------------------


_FLAG_COLUMNS = (
    "ticket_id, candidate_id, score, reasons, status, auto_merged, announced_at, created_at, "
    "updated_at"
)


def flags_file_pending(pending: list[DuplicateFlag]) -> None:
    """Insert the flags ``duplicates_detect`` left in ``pending`` in one statement, and
    empty it. A concurrent run may have filed the same pair first: that one stands.

    The statement ``bulk_create(pending, ignore_conflicts=True)`` sends, written here:
    the ORM's preparation of each field of each flag was ~3 ms a batch (~30 flags), ten
    times the statement (tests/duplicates/test_batch_filing.py compares the rows)."""
    if not pending:
        return
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = []
    for flag in pending:
        params += [
            flag.ticket_id,
            flag.candidate_id,
            flag.score,
            json.dumps(flag.reasons),
            flag.status,
            flag.auto_merged,
            adapt(flag.announced_at),
            adapt(flag.created_at),
            adapt(flag.updated_at),
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DuplicateFlag._meta.db_table} ({_FLAG_COLUMNS}) "  # noqa: S608 - names from _meta
            f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s, %s, %s, %s)'] * len(pending))} "
            "ON CONFLICT DO NOTHING",
            params,
        )
    pending.clear()


def _flags_file(ticket_id: int, flagged: list[tuple[Match, Candidate]], *, first_run: bool) -> bool:
    """Create the missing flags and refresh suggested ones; return whether a suggested flag
    awaits its announcement (new, or its task was lost to a broker outage)."""
    # A ticket's flags are filed after its signature, so on its first run it has none.
    existing: dict[int, tuple[int, str, float, bool]] = {}
    if not first_run:
        rows = DuplicateFlag.objects.filter(
            ticket_id=ticket_id, candidate_id__in=[other.ticket_id for _, other in flagged]
        ).values_list("candidate_id", "pk", "status", "score", "announced_at")
        existing = {c: (pk, st, score, when is not None) for c, pk, st, score, when in rows}
    new = _new_flags(ticket_id, flagged, set(existing))
    # A concurrent run may file the same pair first; the announcement is once per flag.
    DuplicateFlag.objects.bulk_create(new, ignore_conflicts=True)
    waiting = bool(new)
    for match, other in flagged:
        if other.ticket_id not in existing:
            continue
        pk, status, score, announced = existing[other.ticket_id]
        if status == FlagStatus.SUGGESTED:
            waiting = waiting or not announced
            if score != match.score:
                DuplicateFlag.objects.filter(pk=pk).update(
                    score=match.score, reasons=list(match.reasons), updated_at=timezone.now()
                )
    return waiting


def _new_flags(
    ticket_id: int, flagged: list[tuple[Match, Candidate]], existing: set[int]
) -> list[DuplicateFlag]:
    """The flags of the pairs whose candidate is not in ``existing``."""
    return [
        DuplicateFlag(
            ticket_id=ticket_id,
            candidate_id=other.ticket_id,
            score=match.score,
            reasons=list(match.reasons),
        )
        for match, other in flagged
        if other.ticket_id not in existing
    ]


def _exact_resend(
    row: TicketRow, features: Features, flagged: list[tuple[Match, Candidate]]
) -> Candidate | None:
    limit = timedelta(minutes=settings.DUPLICATES_EXACT_MINUTES)
    for match, other in flagged:
        theirs = other.features
        if (
            match.exact
            and row.contact_id is not None
            and theirs.contact_id == row.contact_id
            and features.occurred_at
            and theirs.occurred_at
            and abs(features.occurred_at - theirs.occurred_at) <= limit
        ):
            return other
    return None


def _auto_merge(ticket_id: int, target: Candidate, *, notify: bool) -> bool:
    flag = DuplicateFlag.objects.select_related("ticket", "candidate").get(
        ticket_id=ticket_id, candidate_id=target.ticket_id
    )
    if flag.status != FlagStatus.SUGGESTED:
        return False
    try:
        with transaction.atomic():
            # The "cloned on their own" rule covers noncritical issues only: a customer
            # re-sending a critical error is not waived from its response times.
            critical = Severity.S1 in (flag.ticket.severity, flag.candidate.severity)
            survivor = flag_merge(
                flag=flag,
                reason=f"exact re-send of {target.reference} (automatic)",
                cloned_by_customer=not critical,
            )
            DuplicateFlag.objects.filter(pk=flag.pk).update(
                auto_merged=True, announced_at=timezone.now()
            )
            if notify:  # stored with the merge: the customer hears of it exactly when it holds
                notifications.tell_customer_merged(ticket_id=ticket_id, survivor=survivor)
    except MergeError as exc:  # one of them was merged or closed meanwhile
        log.info("auto-merge of ticket %s skipped: %s", ticket_id, exc)
        return False
    return True


def _queue_propose(ticket_ids: list[int]) -> None:
    from .tasks import propose

    try:
        propose.delay(ticket_ids)
    except Exception:  # broker down: the next report of the same code proposes it
        log.exception("could not queue problem proposals for tickets %s", ticket_ids)


def _queue_announce(ticket_ids: list[int]) -> None:
    from .tasks import announce

    try:
        announce.delay(ticket_ids)
    except Exception:  # broker down: the flags stand in the admin; the next run re-queues
        log.exception("could not queue the announcement of tickets %s's flags", ticket_ids)
