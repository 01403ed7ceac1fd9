"""Choose a ticket's policy and calendar, replay its history, store its `TicketSla`.

`ticket_sla_recompute` is idempotent: it reads only the ticket's current row, events and
messages (and the alerts already raised), and writes only when something changed.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import get_language

from tickets.models import (
    Account,
    Department,
    EventKind,
    Message,
    SupportLine,
    Ticket,
    TicketEvent,
)

from .calendar import CalendarMath
from .calendar_store import calendar_for
from .clocks import Clock, History, MessageFact, Target, replay
from .explain import Explained, ExplainMemo, explain
from .ids import ids_in
from .models import (
    TARGETS,
    BusinessCalendar,
    DepartmentCalendar,
    LineCalendar,
    LookupsStamp,
    SlaAlert,
    SlaPolicy,
    TargetState,
    TicketSla,
)
from .policies import Facts, Resolution, resolve
from .signals import deadlines_changed
from .writes import insert_rows, update_rows


def at_risk_fraction() -> float:
    return getattr(settings, "SLA_AT_RISK_PERCENT", 80) / 100


@dataclass
class SlaLookups:
    """What every ticket's recompute reads besides its own rows: the active policies, the
    departments' calendars, the default calendar and holiday names. Loaded once for a
    batch of tickets (the recompute task, ``sla_recompute``) instead of once per ticket."""

    policies: list[SlaPolicy]
    department_calendars: dict[int, BusinessCalendar]
    default_calendar: BusinessCalendar | None
    line_calendars: dict[int, BusinessCalendar] = field(default_factory=dict)
    department_names: dict[int, str] = field(default_factory=dict)
    day_names: dict[tuple[int, int], dict[date, str]] = field(default_factory=dict)
    # Facts (ids, not names) → the winning policy and the losers: a batch's tickets share
    # a few lines, departments and channels, so each combination is resolved once.
    resolved: dict[Facts, tuple[SlaPolicy | None, list[SlaPolicy]]] = field(default_factory=dict)
    # The parts of the explanations the batch's tickets share (``sla.explain``).
    explained: ExplainMemo = field(default_factory=ExplainMemo)
    # A policy's targets by its id (None: no policy), built once a load (never changed).
    targets: dict[int | None, dict[str, Target | None]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> SlaLookups:
        """Return the lookups as committed (and as this transaction wrote them): the rows
        the process read last if the lookups' stamp is still the one they were read at
        (``LookupsStamp``: one query instead of five), else read again. Every load has
        its own memos (``resolved``, ``explained``, ``day_names``)."""
        default = getattr(settings, "SLA_DEFAULT_CALENDAR", "")
        stamp = _lookups_stamp()
        key = (connection.settings_dict["NAME"], stamp, default)
        if stamp is None or (rows := _LOOKUPS.get(key)) is None:
            rows = _lookups_rows(default)
            # Kept only if nothing committed a change while they were read.
            if stamp is not None and _lookups_stamp() == stamp:
                _LOOKUPS.clear()
                _LOOKUPS[key] = rows
        return cls(**rows)

    def targets_of(self, policy: SlaPolicy | None) -> dict[str, Target | None]:
        """Return ``policy_targets(policy)``, built once a load for a saved policy."""
        if policy is not None and policy.pk is None:
            return policy_targets(policy)
        key = policy.pk if policy is not None else None
        if (targets := self.targets.get(key)) is None:
            targets = self.targets[key] = policy_targets(policy)
        return targets

    def names_of(self, row: BusinessCalendar) -> dict[date, str]:
        """Return the calendar's named days (holidays, short days), cached per version."""
        key = (row.pk, row.version)
        if key not in self.day_names:
            self.day_names[key] = _day_names(row)
        return self.day_names[key]


# A calendar's named days by (id, version, its time, language), kept by the process as
# ``calendar_store.calendar_for`` keeps its math: ``version`` changes whenever the hours
# or the exceptions change. Read once a batch, they were ~5% of the intake's recompute
# (three years of holidays a calendar, read and built as model instances).
_DAY_NAMES: dict[tuple[int, int, datetime, str], dict[date, str]] = {}
_DAY_NAMES_LOCK = threading.Lock()


# The rows of the last ``SlaLookups.load`` by (database, stamp, default calendar slug):
# each batch of the intake read the five tables again (~6% of its SLA store), though they
# change only when an admin edits policies, calendars, departments or lines. The rows are
# shared by the loads (never changed after).
_LOOKUPS: dict[tuple[Any, str | None, Any], dict[str, Any]] = {}


def _lookups_stamp() -> str | None:
    """The lookups' stamp as this transaction sees it (None before any write made one)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT stamp FROM {LookupsStamp._meta.db_table} WHERE id = 1")  # noqa: S608
        found = cursor.fetchone()
    return found[0] if found else None


def _lookups_rows(default: str) -> dict[str, Any]:
    """Read what ``SlaLookups`` holds besides its memos."""
    return {
        "policies": list(
            SlaPolicy.objects.filter(is_active=True).select_related(
                "calendar", "line", "department"
            )
        ),
        "department_calendars": {
            link.department_id: link.calendar
            for link in DepartmentCalendar.objects.select_related("calendar")
        },
        "default_calendar": (
            BusinessCalendar.objects.filter(slug=default).first() if default else None
        ),
        "line_calendars": {
            row.line_id: row.calendar
            for row in LineCalendar.objects.select_related("calendar")
            if row.calendar is not None
        },
        "department_names": dict(Department.objects.values_list("pk", "name")),
    }


def _day_names(row: BusinessCalendar) -> dict[date, str]:
    # ``updated_at`` too: bumped with the version (a version number alone can come back
    # after a rolled-back edit); a kind's name is translated.
    key = (row.pk, row.version, row.updated_at, get_language() or "")
    if (names := _DAY_NAMES.get(key)) is not None:
        return names
    names = {e.date: e.name or e.get_kind_display() for e in row.exceptions.all()}
    with _DAY_NAMES_LOCK:
        for stale in [k for k in _DAY_NAMES if k[0] == row.pk and k[1] != row.version]:
            del _DAY_NAMES[stale]
        _DAY_NAMES[key] = names
    return names


def policy_resolution(ticket: Ticket, lookups: SlaLookups | None = None) -> Resolution:
    """Return which active policy the ticket gets and why (``sla.policies.resolve``:
    line, then department, then channel, then severity, most specific first)."""
    lookups = lookups or SlaLookups.load()
    facts = Facts.of(ticket, lookups.department_names)
    if (known := lookups.resolved.get(facts)) is None:
        found = resolve(lookups.policies, facts)
        lookups.resolved[facts] = (found.policy, found.losers)
        return found
    return Resolution(known[0], list(known[1]), facts)  # the ticket's own names explained


def policy_for(ticket: Ticket, lookups: SlaLookups | None = None) -> SlaPolicy | None:
    """Return the active policy that matches the ticket most specifically."""
    return policy_resolution(ticket, lookups).policy


def calendar_row_for(
    ticket: Ticket, policy: SlaPolicy | None, lookups: SlaLookups | None = None
) -> BusinessCalendar | None:
    """Return the policy's calendar, else the department's, else the line's, else the
    default preset."""
    if policy is not None and policy.calendar_id:
        return policy.calendar
    lookups = lookups or SlaLookups.load()
    for found in (
        lookups.department_calendars.get(ticket.department_id),
        lookups.line_calendars.get(ticket.line_id),
    ):
        if found is not None:
            return found
    return lookups.default_calendar


def policy_targets(policy: SlaPolicy | None) -> dict[str, Target | None]:
    targets: dict[str, Target | None] = {}
    for name in TARGETS:
        amount = getattr(policy, f"{name}_amount", None) if policy else None
        targets[name] = (
            Target(
                amount=amount,
                unit=getattr(policy, f"{name}_unit"),
                closed_hours=getattr(policy, f"{name}_closed_hours"),
            )
            if amount
            else None
        )
    return targets


# The event kinds ``ticket_history`` replays (every other kind moves no clock).
REPLAYED_KINDS = (
    EventKind.STATUS_CHANGED,
    EventKind.MERGED,
    EventKind.UNMERGED,
    EventKind.DEPARTMENT_CHANGED,
)


@dataclass
class HistoryRows:
    """The rows the clocks of many tickets replay, read in five queries for all of them."""

    absorbed_start: dict[int, datetime]
    messages: dict[int, list[tuple[datetime, str, str]]]
    events: dict[int, list[tuple[str, dict[str, Any], datetime]]]
    alerts: dict[int, set[tuple[str, str, datetime]]]
    latest_event: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(
        cls, ticket_ids: Iterable[int], latest_event: dict[int, int] | None = None
    ) -> HistoryRows:
        """Read the rows; ``latest_event`` if the caller read the newest events already
        (``sla.intake.event_marks``)."""
        ids = list(ticket_ids)
        rows = cls({}, defaultdict(list), defaultdict(list), defaultdict(set))
        for survivor, start in (
            Ticket.objects.filter(ids_in("merged_into", ids))
            .values("merged_into")
            .annotate(start=Min("created_at"))
            .values_list("merged_into", "start")
        ):
            if survivor is not None:  # always: filtered on merged_into
                rows.absorbed_start[survivor] = start
        for ticket_id, occurred_at, direction, channel in (
            Message.objects.filter(ids_in("ticket_id", ids))
            .order_by("ticket_id", "occurred_at", "id")
            .values_list("ticket_id", "occurred_at", "direction", "channel")
        ):
            rows.messages[ticket_id].append((occurred_at, direction, channel))
        # Only the kinds the replay reads (``ticket_history``): a ticket's events are mostly
        # ``message_added``, whose data decoded and dropped was a third of this load.
        for ticket_id, *event in (
            TicketEvent.objects.filter(ids_in("ticket_id", ids), kind__in=REPLAYED_KINDS)
            .order_by("ticket_id", "created_at", "id")
            .values_list("ticket_id", "kind", "data", "created_at")
        ):
            rows.events[ticket_id].append(tuple(event))
        rows.latest_event.update(
            TicketEvent.objects.filter(ids_in("ticket_id", ids))
            .values("ticket_id")
            .annotate(latest=Max("id"))
            .values_list("ticket_id", "latest")
            if latest_event is None
            else latest_event
        )
        for ticket_id, target, kind, due in SlaAlert.objects.filter(
            ids_in("ticket_id", ids)
        ).values_list("ticket_id", "target", "kind", "due_at"):
            rows.alerts[ticket_id].add((target, kind, due.astimezone(UTC)))
        return rows


def ticket_history(
    ticket: Ticket, rows: HistoryRows | None = None
) -> tuple[History, list[dict[str, Any]]]:
    """Return the facts the clocks replay, and the escalations (department changes)."""
    rows = rows or HistoryRows.load([ticket.pk])
    absorbed_start = rows.absorbed_start.get(ticket.pk)
    start = min(filter(None, [ticket.created_at, absorbed_start]))
    messages = [
        MessageFact(at=at, direction=direction, channel=channel)
        for at, direction, channel in rows.messages.get(ticket.pk, [])
    ]
    statuses: list[tuple[datetime, str]] = [(ticket.created_at, "new")]
    merged_at = None
    escalations = []
    for kind, data, at in rows.events.get(ticket.pk, []):
        if kind == EventKind.STATUS_CHANGED:
            statuses.append((at, data.get("status", "")))
        elif kind == EventKind.MERGED:
            merged_at = at
        elif kind == EventKind.UNMERGED:
            merged_at = None  # taken back out: its clocks run again
        elif kind == EventKind.DEPARTMENT_CHANGED:
            escalations.append(
                {"at": at.isoformat(), "from": data.get("previous"), "to": data.get("department")}
            )
    if ticket.status == "merged" and merged_at is None:
        merged_at = ticket.updated_at
    history = History(start=start, messages=messages, statuses=statuses, merged_at=merged_at)
    return history, escalations


def ticket_sla_fields(
    ticket: Ticket,
    now: datetime,
    lookups: SlaLookups | None = None,
    rows: HistoryRows | None = None,
) -> dict[str, Any]:
    """Return the TicketSla field values for the ticket as of `now` (no writes)."""
    lookups = lookups or SlaLookups.load()
    rows = rows or HistoryRows.load([ticket.pk])
    resolution = policy_resolution(ticket, lookups)
    policy = resolution.policy
    row = calendar_row_for(ticket, policy, lookups)
    cal = calendar_for(row)
    history, escalations = ticket_history(ticket, rows)
    for escalation in escalations:  # names, not ids: they outlive renamed departments' ids
        escalation["from_name"] = lookups.department_names.get(escalation["from"], "")
        escalation["to_name"] = lookups.department_names.get(escalation["to"], "")
    targets = lookups.targets_of(policy)
    clocks = replay(cal, targets, history, now, at_risk_fraction())
    alerts = rows.alerts.get(ticket.pk, set())
    fields: dict[str, Any] = {
        "policy": policy,
        "calendar": row,
        "started_at": history.start,
        "paused": clocks["resolution"].state == TargetState.PAUSED,
        "next_check_at": _next_check(clocks, alerts),
        "first_response_at": clocks["first_response"].met_at
        if clocks["first_response"].state == TargetState.MET
        else None,
        "first_response_seconds": _business_seconds(cal, clocks["first_response"]),
        "resolution_at": clocks["resolution"].met_at
        if clocks["resolution"].state == TargetState.MET
        else None,
    }
    breach_times = []
    for name, clock in clocks.items():
        fields[f"{name}_due"] = clock.due
        fields[f"{name}_state"] = clock.state
        fields[f"{name}_breached"] = clock.breached
        if clock.breached and clock.due is not None:
            breach_times.append(clock.due)
    fields["breached_at"] = min(breach_times) if breach_times else None
    names = lookups.names_of(row) if row is not None else {}
    fields["explanation"] = explain(
        Explained(
            ticket,
            resolution,
            row,
            cal,
            targets,
            clocks,
            escalations,
            history,
            names,
            lookups.explained,
        )
    )
    return fields


def ticket_sla_recompute(
    ticket_id: int, *, now: datetime | None = None, lookups: SlaLookups | None = None
) -> TicketSla | None:
    """Recompute and store the ticket's SLA clocks; return them (None if the ticket is gone).

    Idempotent: a second run at the same moment finds nothing to change and writes nothing.
    """
    return tickets_sla_recompute([ticket_id], now=now, lookups=lookups)[ticket_id]


def tickets_sla_recompute(
    ticket_ids: Iterable[int],
    *,
    now: datetime | None = None,
    lookups: SlaLookups | None = None,
    announce: bool = True,
    latest_event: dict[int, int] | None = None,
    related: dict[Any, dict[int, Any]] | None = None,
) -> dict[int, TicketSla | None]:
    """``ticket_sla_recompute`` for many tickets: the reads are a fixed number of queries
    (``lookups``, ``HistoryRows``), the writes one per changed ticket. ``announce`` False
    sends no ``deadlines_changed`` (the caller's own ticket events refresh the same rows).
    ``latest_event``: the tickets' newest event ids, if the caller read them already;
    ``related``: accounts, lines and departments it read in this transaction (``with_related``).

    The tickets' SLA rows are locked (in id order) before their history is read: two
    recomputes of a ticket run one after the other, and the later one reads what the
    earlier saw and more, so an older result never overwrites a newer one.
    """
    now = now or timezone.now()
    ids = list(dict.fromkeys(ticket_ids))
    lookups = lookups or SlaLookups.load()
    out: dict[int, TicketSla | None] = dict.fromkeys(ids)
    with transaction.atomic():
        current = _lock_rows(ids)
        tickets = with_related(_by_pk(Ticket, ids), related)
        stored = sorted(tickets)
        if stored and announce:  # registered inside the block: sent once committed
            transaction.on_commit(
                lambda: deadlines_changed.send(sender=TicketSla, ticket_ids=stored)
            )
        rows = HistoryRows.load(tickets, latest_event)
        changed: list[TicketSla] = []
        fresh: list[TicketSla] = []
        computed: dict[int, dict[str, Any]] = {}
        moved: dict[int, list[str]] = {}  # a stored row → the fields whose value changed
        same: list[int] = []  # stored rows whose every field but the explanation is equal
        for pk in stored:
            fields = ticket_sla_fields(tickets[pk], now, lookups, rows)
            fields["computed_from_event"] = rows.latest_event.get(pk)
            computed[pk] = fields
            row = current.get(pk)
            if row is None:  # no row yet: inserted as computed (was blank, then updated)
                fresh.append(TicketSla(ticket_id=pk))
            elif names := [
                n for n, v in fields.items() if n != "explanation" and _differs(row, n, v)
            ]:
                moved[pk] = names
                changed.append(row)
            else:
                same.append(pk)
        # A blank row is filled in; a stored one only if it moved. The stored explanations
        # are read only for the rows nothing else moved (rarely any in an intake: a new
        # event moves ``computed_from_event``); decoded for every row, they were half of
        # reading the locked rows.
        explanations = _explanations(same)
        for pk in same:
            row = current[pk]
            if (stored_explanation := explanations.get(pk)) and (
                stored_explanation == computed[pk]["explanation"]
            ):
                row.explanation = stored_explanation
                out[pk] = row
            else:
                moved[pk] = []
                changed.append(row)
        for row in fresh:
            for name, value in computed[row.pk].items():
                setattr(row, name, value)
            row.computed_at = now
            out[row.pk] = row
        # A stored row gets the fields that moved (the others hold the computed values
        # already) and its explanation; the UPDATE writes the columns some row's moved
        # (a reply moves its next response and little else: a third of the columns).
        written: dict[str, None] = {}
        for row in changed:
            fields = computed[row.pk]
            for name in moved[row.pk]:
                setattr(row, name, fields[name])
                written[name] = None
            row.explanation = fields["explanation"]
            row.computed_at = now
            out[row.pk] = row
        taken = insert_rows([vars(row) for row in fresh])
        if changed:
            update_rows(changed, [*written, "explanation", "computed_at"])
        if taken:  # another recompute stored them since the lock: this one runs after it
            out.update(tickets_sla_recompute(taken, now=now, lookups=lookups, announce=False))
    return out


def with_related(
    tickets: dict[int, Ticket], known: dict[Any, dict[int, Any]] | None = None
) -> dict[int, Ticket]:
    """Give the tickets their account, line and department, each of those read and built
    once a batch: a batch's 200 tickets share a few lines and departments, which
    ``select_related`` joined and built again for every ticket. Return ``tickets``.
    ``known``: rows read for other tickets of the same transaction (by model, by id), which
    are reused and added to."""
    related: list[tuple[str, Any]] = [
        ("account", Account),
        ("line", SupportLine),
        ("department", Department),
    ]
    known = {} if known is None else known
    for name, model in related:
        attname = f"{name}_id"
        found = known.setdefault(model, {})
        wanted = {getattr(t, attname) for t in tickets.values()} - {None} - found.keys()
        if wanted:
            found.update(_by_pk(model, wanted))
        for ticket in tickets.values():
            key = getattr(ticket, attname)
            if key is not None and key in found:  # else (deleted meanwhile) read lazily
                setattr(ticket, name, found[key])
    return tickets


def _by_pk(model: Any, ids: Iterable[int]) -> dict[int, Any]:
    """``model.objects.in_bulk(ids)``, the ids written into the statement (``sla.ids``)."""
    return {row.pk: row for row in model.objects.filter(ids_in("pk", ids))}


def _lock_rows(ids: list[int]) -> dict[int, TicketSla]:
    """Lock the stored SLA rows of the tickets (in id order: two recomputes of a ticket
    run one after the other, the later reading what the earlier saw and more)."""
    rows = (
        TicketSla.objects.select_for_update()
        .filter(ids_in("pk", ids))
        .order_by("pk")
        .defer("explanation")  # read only where needed: ``_explanations``
    )
    return {row.pk: row for row in rows}


def _explanations(ids: list[int]) -> dict[int, Any]:
    """The stored explanations of these (locked) SLA rows."""
    if not ids:
        return {}
    return dict(TicketSla.objects.filter(ids_in("pk", ids)).values_list("pk", "explanation"))


def stale_ticket_ids(rows: Iterable[TicketSla]) -> list[int]:
    """Return the tickets among ``rows`` with an event newer than their deadlines."""
    rows = list(rows)
    latest = dict(
        TicketEvent.objects.filter(ids_in("ticket_id", [r.pk for r in rows]))
        .values("ticket_id")
        .annotate(latest=Max("id"))
        .values_list("ticket_id", "latest")
    )
    return [r.pk for r in rows if latest.get(r.pk) != r.computed_from_event]


RECOMPUTE_CHUNK = 200  # tickets per read of their histories
NOT_LIVE = ("solved", "closed", "merged")


def ticket_ids_to_recompute(*, include_done: bool = False) -> list[int]:
    """Return the tickets whose clocks a policy or calendar change moves: the live ones
    (every ticket with ``include_done``), in id order."""
    tickets = Ticket.objects.all()
    if not include_done:
        tickets = tickets.exclude(status__in=NOT_LIVE)
    return list(tickets.order_by("pk").values_list("pk", flat=True))


def chunks(ids: list[int], size: int = RECOMPUTE_CHUNK) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _differs(current: TicketSla, name: str, value: Any) -> bool:
    if name in ("policy", "calendar"):
        return getattr(current, f"{name}_id") != (value.pk if value is not None else None)
    return getattr(current, name) != value


def _next_check(
    clocks: dict[str, Clock], alerts: set[tuple[str, str, datetime]]
) -> datetime | None:
    """Return the earliest at-risk or breach moment of a running clock not yet alerted."""
    moments = []
    for name, clock in clocks.items():
        if clock.state != TargetState.RUNNING or clock.due is None:
            continue
        due = clock.due.astimezone(UTC)
        if clock.risk_at is not None and (name, "at_risk", due) not in alerts:
            moments.append(clock.risk_at)
        elif (name, "breached", due) not in alerts:
            moments.append(due)
    return min(moments) if moments else None


def _business_seconds(cal: CalendarMath, clock: Clock) -> int | None:
    if clock.started_at is None or clock.met_at is None or clock.state != TargetState.MET:
        return None
    return int(cal.between(clock.started_at, clock.met_at).total_seconds())
