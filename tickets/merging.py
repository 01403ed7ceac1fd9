"""Merging duplicate tickets into one, and undoing a merge exactly.

Re-exported by ``tickets.services``, the one place callers change tickets through.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import BigIntegerField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import status as status_rules
from .errors import CrossAccountMerge, InvalidInput, MergeError
from .events import record_event as _record
from .lines import severity_check
from .models import EventKind, Message, Status, Ticket, TicketEvent
from .signals import messages_moved


@transaction.atomic
def ticket_merge(
    *,
    source: Ticket,
    target: Ticket,
    actor: User | None = None,
    reason: str = "",
    cloned_by_customer: bool = False,
    confirm_cross_account: bool = False,
) -> Ticket:
    """Merge ``source`` into ``target``: move its timeline, keep it as a pointer.

    Both rows are locked (in id order, so two merges of the same pair cannot deadlock or
    lose a message). The survivor keeps the stricter severity. Tickets that had been
    merged into ``source`` now point at ``target`` directly, so every old number resolves.
    ``cloned_by_customer`` marks a source the customer opened again on their own.
    Tickets of two different accounts merge only with ``confirm_cross_account=True``
    (else CrossAccountMerge): the target account's contacts would read the source's
    messages. The ``merged`` event records everything ``ticket_unmerge`` needs to undo the merge.
    """
    if source.pk == target.pk:
        raise MergeError("A ticket cannot be merged into itself.")
    src, dst = _lock_pair(source, target)
    for ticket, role in ((src, "source"), (dst, "target")):
        if ticket.status in status_rules.FINISHED:
            raise MergeError(
                f"The {role} {ticket.reference} is {ticket.get_status_display().lower()}; "
                "only live tickets can be merged."
            )
    if src.line_id != dst.line_id:
        raise MergeError(
            f"{src.reference} and {dst.reference} were sent to different support lines; "
            "link them instead of merging."
        )
    severity = min(dst.severity, src.severity)
    try:  # the survivor takes the stricter severity: it must be allowed where it is
        severity_check(line=dst.line, department=dst.department, severity=severity)
    except InvalidInput as exc:
        raise MergeError(
            f"{src.reference} is critical and {dst.reference} is not in technical support: "
            f"merge {dst.reference} into {src.reference} instead. ({exc.detail})"
        ) from exc
    if src.account_id and dst.account_id and src.account_id != dst.account_id:
        if not confirm_cross_account:
            raise CrossAccountMerge(
                f"{src.reference} belongs to {src.account} and {dst.reference} to "
                f"{dst.account}: merging shows {src.account}'s messages to {dst.account}. "
                "Confirm the merge across accounts if that is what you want."
            )
    previous = list(
        Message.objects.filter(ticket=src).order_by("pk").values_list("pk", "merged_from_id")
    )
    moved = [pk for pk, _ in previous]
    Message.objects.filter(pk__in=moved).update(
        ticket=dst,
        merged_from=Coalesce(F("merged_from"), Value(src.pk), output_field=BigIntegerField()),
    )
    messages_moved.send(sender=Message, message_ids=moved, ticket_id=dst.pk)
    repointed = list(
        Ticket.objects.filter(merged_into=src).order_by("pk").values_list("pk", flat=True)
    )
    Ticket.objects.filter(pk__in=repointed).update(merged_into=dst)
    now = timezone.now()
    _record(
        src,
        EventKind.MERGED,
        actor,
        target=dst.pk,
        reason=reason,
        message_ids=moved,
        previous_merged_from=[[pk, was] for pk, was in previous],
        repointed=repointed,
        previous_status=src.status,
        cloned_by_customer=cloned_by_customer,
    )
    _record(
        dst,
        EventKind.ABSORBED,
        actor,
        source=src.pk,
        reason=reason,
        message_ids=moved,
        previous_severity=dst.severity,
        severity=severity,
    )
    src.status, src.merged_into, src.updated_at = Status.MERGED, dst, now
    src.cloned_by_customer = cloned_by_customer
    src.save(update_fields=["status", "merged_into", "cloned_by_customer", "updated_at"])
    dst.severity, dst.updated_at = severity, now
    dst.save(update_fields=["severity", "updated_at"])
    return dst


@transaction.atomic
def ticket_unmerge(*, ticket: Ticket, actor: User | None = None, reason: str = "") -> Ticket:
    """Undo the latest merge of ``ticket`` exactly; return the restored ticket.

    The messages that merge moved go back (with their earlier ``merged_from``), tickets it
    re-pointed point at ``ticket`` again, and ``ticket`` gets its earlier status back.
    Messages that reached the survivor after the merge stay there. The survivor gets its
    earlier severity back unless someone changed the severity since.
    """
    merged = _latest_merge(Ticket.objects.get(pk=ticket.pk))
    src, dst = _lock_pair(ticket, Ticket(pk=merged.data["target"]))
    if dst.status in status_rules.FINISHED:
        raise MergeError(
            f"{src.reference} cannot be un-merged: its survivor {dst.reference} has since been "
            f"{dst.get_status_display().lower()}. Un-merge {dst.reference} first"
            + ("." if dst.status == Status.MERGED else ", or open a new ticket instead.")
        )
    if src.status != Status.MERGED or src.merged_into_id != dst.pk:
        raise MergeError(
            f"{src.reference} is not merged into {dst.reference} (any more); reload the page."
        )
    if _latest_merge(src).pk != merged.pk:
        raise MergeError(f"{src.reference} was merged again meanwhile; reload the page.")
    data = merged.data
    by_previous: dict[int | None, list[int]] = {}
    for pk, was in data["previous_merged_from"]:
        by_previous.setdefault(was, []).append(pk)
    for was, pks in by_previous.items():
        Message.objects.filter(pk__in=pks, ticket=dst).update(ticket=src, merged_from=was)
    back = [pk for pks in by_previous.values() for pk in pks]
    messages_moved.send(sender=Message, message_ids=back, ticket_id=src.pk)
    Ticket.objects.filter(pk__in=data["repointed"], merged_into=dst).update(merged_into=src)
    absorbed = dst.events.filter(kind=EventKind.ABSORBED, data__source=src.pk).latest("pk")
    severity = _severity_after_release(dst, absorbed)
    now = timezone.now()
    _record(
        src,
        EventKind.UNMERGED,
        actor,
        target=dst.pk,
        reason=reason,
        message_ids=data["message_ids"],
        repointed=data["repointed"],
        status=data["previous_status"],
    )
    _record(
        dst,
        EventKind.RELEASED,
        actor,
        source=src.pk,
        reason=reason,
        message_ids=data["message_ids"],
        previous_severity=dst.severity,
        severity=severity,
    )
    src.status, src.merged_into, src.cloned_by_customer = data["previous_status"], None, False
    src.updated_at = now
    src.save(update_fields=["status", "merged_into", "cloned_by_customer", "updated_at"])
    dst.severity, dst.updated_at = severity, now
    dst.save(update_fields=["severity", "updated_at"])
    return src


def _latest_merge(ticket: Ticket) -> TicketEvent:
    merged = (
        TicketEvent.objects.filter(ticket_id=ticket.pk, kind=EventKind.MERGED)
        .order_by("-pk")
        .first()
    )
    if ticket.status != Status.MERGED or merged is None:
        raise MergeError(f"{ticket.reference} is not merged; there is nothing to un-merge.")
    if "previous_merged_from" not in merged.data or "repointed" not in merged.data:
        raise MergeError(
            f"{ticket.reference} was merged before merges recorded how to undo them; "
            "it cannot be un-merged exactly. Open a new ticket instead."
        )
    return merged


def _severity_after_release(dst: Ticket, absorbed: TicketEvent) -> int:
    """Return the survivor's severity once the source is taken out again.

    An agent's later severity change wins; otherwise the severity before the merge,
    made stricter by whatever tickets were merged in later and are still there.
    """
    later = TicketEvent.objects.filter(ticket=dst, pk__gt=absorbed.pk)
    if later.filter(kind=EventKind.SEVERITY_CHANGED).exists():
        return dst.severity
    still_in = [e.data.get("source") for e in later.filter(kind=EventKind.ABSORBED).only("data")]
    severities = Ticket.objects.filter(pk__in=still_in, merged_into=dst).values_list(
        "severity", flat=True
    )
    return min([absorbed.data.get("previous_severity", dst.severity), *severities])


def _lock_pair(first: Ticket, second: Ticket) -> tuple[Ticket, Ticket]:
    """Lock both rows in id order (so two writers of one pair cannot deadlock)."""
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update()
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    return locked[first.pk], locked[second.pk]
