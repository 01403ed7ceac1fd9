"""The beat scan: raise at-risk warnings and breaches once, notify, escalate per policy.

It reads only rows whose `next_check_at` has come (a partial index holds live tickets
with something pending), so its cost follows the tickets near a deadline, not the
tickets ever handled. A row computed before the ticket's latest event (its recompute is
still queued) is recomputed before anything is raised from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, MailOut, mail_queue
from tickets.errors import TicketError
from tickets.services import ticket_department_set

from .models import TARGET_LABELS, AlertKind, DepartmentCalendar, SlaAlert, TicketSla
from .services import stale_ticket_ids, tickets_sla_recompute

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    checked: int = 0
    at_risk: list[tuple[int, str]] = field(default_factory=list)
    breached: list[tuple[int, str]] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def scan_deadlines(*, now: datetime | None = None, batch_size: int | None = None) -> ScanResult:
    """Raise the alerts that have come due by `now`; return what was raised."""
    now = now or timezone.now()
    batch_size = batch_size or getattr(settings, "SLA_SCAN_BATCH_SIZE", 1000)
    result = ScanResult()
    due = TicketSla.objects.filter(next_check_at__lte=now).select_related(
        "ticket__assignee", "ticket__department", "policy__escalate_to", "calendar"
    )
    rows = list(due.order_by("next_check_at")[:batch_size])
    # Act only on deadlines computed from each ticket's latest event: a reply whose
    # recompute still waits in the queue must not be a breach. Recompute those first.
    if stale := stale_ticket_ids(rows):
        tickets_sla_recompute(stale, now=now)
        fresh = {row.pk: row for row in due.filter(pk__in=stale)}  # still due after it
        rows = [fresh[row.pk] for row in rows if row.pk not in stale or row.pk in fresh]
    notify_lists = _department_lists({row.ticket.department_id for row in rows})
    for row in rows:
        result.checked += 1
        _check_row(row, now, result, notify_lists)
    return result


def _check_row(
    row: TicketSla, now: datetime, result: ScanResult, notify_lists: dict[int, list[str]]
) -> None:
    targets = (row.explanation or {}).get("targets", {})
    breached: list[tuple[str, datetime]] = []
    raised_breach = False
    pending: list[datetime] = []
    for name, info in targets.items():
        if info.get("state") != "running" or not info.get("due"):
            continue
        due = datetime.fromisoformat(info["due"]).astimezone(UTC)
        risk_at = datetime.fromisoformat(info["risk_at"]) if info.get("risk_at") else None
        if now >= due:
            breached.append((name, due))
            if _raise(row, name, AlertKind.BREACHED, due, now, notify_lists):
                result.breached.append((row.ticket_id, name))
                raised_breach = True
        elif risk_at is not None and now >= risk_at:
            pending.append(due)
            if _raise(row, name, AlertKind.AT_RISK, due, now, notify_lists):
                result.at_risk.append((row.ticket_id, name))
        else:
            pending.append(risk_at or due)
    # Everything up to `now` is alerted (now or before): move on to the next moment. The
    # worker's next recompute (any ticket change) arrives at the same values.
    update: dict[str, object] = {"next_check_at": min(pending) if pending else None}
    for name, due in breached:
        update[f"{name}_breached"] = True
        if row.breached_at is None or due < row.breached_at:
            update["breached_at"] = row.breached_at = due
    TicketSla.objects.filter(pk=row.pk).update(**update)
    if raised_breach and _escalate(row):
        result.escalated.append(row.ticket_id)


def _raise(
    row: TicketSla,
    target: str,
    kind: str,
    due: datetime,
    now: datetime,
    notify_lists: dict[int, list[str]],
) -> bool:
    """Record the alert once; notify only when this call created it (the mail is stored
    in the outbox with the alert, and a worker sends it)."""
    recipients = _recipients(row, notify_lists)
    try:
        with transaction.atomic():
            SlaAlert.objects.create(
                ticket_id=row.ticket_id,
                target=target,
                kind=kind,
                due_at=due,
                created_at=now,
                notified=recipients,
            )
            if recipients:
                _notify(row, target, kind, due, recipients)
    except IntegrityError:
        return False  # raised before (an earlier scan, or a concurrent one)
    return True


def _department_lists(department_ids: set[int]) -> dict[int, list[str]]:
    return {
        link.department_id: link.notify_list
        for link in DepartmentCalendar.objects.filter(department_id__in=department_ids)
    }


def _recipients(row: TicketSla, notify_lists: dict[int, list[str]]) -> list[str]:
    ticket = row.ticket
    out = []
    if ticket.assignee is not None and ticket.assignee.email:
        out.append(ticket.assignee.email)
    out += notify_lists.get(ticket.department_id, [])
    if not out:
        out += list(getattr(settings, "SLA_NOTIFY_FALLBACK", []))
    return list(dict.fromkeys(out))


def _notify(row: TicketSla, target: str, kind: str, due: datetime, recipients: list[str]) -> None:
    ticket = row.ticket
    label = TARGET_LABELS.get(target, target)
    verb = "breached" if kind == AlertKind.BREACHED else "is at risk"
    zone = row.calendar.tz if row.calendar is not None else "UTC"
    local_due = due.astimezone(_zone(zone))
    subject = f"[SLA] {ticket.reference}: {label.lower()} {verb}"
    body = (
        f"{ticket.reference} {ticket.subject}\n"
        f"Department: {ticket.department}\n"
        f"{label} due {local_due:%Y-%m-%d %H:%M} ({zone}) under "
        f"{row.policy.name if row.policy is not None else 'no policy'}.\n"
    )
    mail_queue(
        MailOut(
            kind=MailKind.SLA_ALERT,
            to=recipients,
            subject=subject,
            body_text=body,
            headers=AUTO_GENERATED,
            ticket=ticket,
        )
    )


def _escalate(row: TicketSla) -> bool:
    """Hand a breached ticket to the policy's escalation department (once)."""
    policy = row.policy
    if policy is None or policy.escalate_to_id is None:
        return False
    if row.ticket.department_id == policy.escalate_to_id:
        return False
    department = policy.escalate_to
    if department is None:  # never: escalate_to_id is set
        return False
    try:
        ticket_department_set(ticket=row.ticket, department=department)
    except TicketError as exc:
        log.warning("could not escalate ticket %s: %s", row.ticket_id, exc)
        return False
    SlaAlert.objects.filter(ticket_id=row.ticket_id, kind=AlertKind.BREACHED).filter(
        escalated_to__isnull=True
    ).update(escalated_to=policy.escalate_to)
    return True


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
