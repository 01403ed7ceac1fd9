"""Problem tickets and their incidents: one outage, one ticket agents work on.

Each customer who reports the outage keeps their own ticket (an *incident*): its channel,
its language, its SLA clock and any breach already recorded. Linking it to the *problem*
ticket only records who belongs to what (an event on both); nothing in the incident's
history that its SLA clock replays changes. Solving the problem solves every live incident
through ``ticket_status_set``, as if an agent had solved each at that moment.

``duplicates.problems`` proposes problem tickets when many accounts report one error code
or service; the admin and the agents' workspace call these services.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction

from . import status as status_rules
from .errors import InvalidInput, InvalidTransition
from .events import record_events
from .inputs import MessageIn
from .intake import ticket_open
from .models import Channel, Department, Direction, EventKind, Severity, Status, Ticket

# Incidents in these states are over: solving the problem leaves them as they are.
FINISHED = (Status.SOLVED, Status.CLOSED, Status.MERGED)


@transaction.atomic
def problem_open(
    *,
    subject: str,
    department: Department,
    description: str,
    actor: User | None = None,
    severity: int = Severity.S2,
    incidents: Sequence[Ticket] = (),
) -> Ticket:
    """Open a problem ticket (internal: its first entry is a note) and link ``incidents``."""
    if not subject.strip():
        raise InvalidInput("subject", "Name the problem, e.g. 'Card payments declined'.")
    problem = ticket_open(
        subject=subject,
        department=department,
        severity=severity,
        actor=actor,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text=description or subject,
            author_user=actor,
        ),
    ).ticket
    Ticket.objects.filter(pk=problem.pk).update(is_problem=True)
    problem.is_problem = True
    if incidents:
        incidents_link(incidents=incidents, problem=problem, actor=actor)
    return problem


@transaction.atomic
def incidents_link(
    *, incidents: Sequence[Ticket], problem: Ticket, actor: User | None = None
) -> list[Ticket]:
    """Link each incident to ``problem``; return those newly linked (already linked ones
    are skipped, so agents may link a list twice). Nothing else about them changes."""
    locked = Ticket.objects.select_for_update().get(pk=problem.pk)
    if not locked.is_problem:
        raise InvalidInput("problem", f"{locked.reference} is not a problem ticket.")
    if locked.status in status_rules.FINISHED:
        raise InvalidTransition(f"{locked.reference} is {locked.get_status_display()}.")
    ids = sorted({incident.pk for incident in incidents} - {locked.pk})
    rows = list(Ticket.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    for row in rows:
        if row.is_problem:
            raise InvalidInput("incidents", f"{row.reference} is itself a problem ticket.")
        if row.status == Status.MERGED:
            raise InvalidTransition(
                f"{row.reference} was merged; link the ticket it was merged into."
            )
    linked = [row for row in rows if row.problem_id != locked.pk]
    if not linked:
        return []
    Ticket.objects.filter(pk__in=[row.pk for row in linked]).update(problem=locked)
    events = [
        (row, EventKind.PROBLEM_LINKED, actor, {"problem": locked.pk, "from": row.problem_id})
        for row in linked
    ]
    events += [(locked, EventKind.INCIDENT_LINKED, actor, {"incident": row.pk}) for row in linked]
    record_events(events)
    for row in linked:
        row.problem = locked
    return linked


@transaction.atomic
def incident_unlink(*, incident: Ticket, actor: User | None = None) -> Ticket:
    """Take an incident out of its problem (it was another fault after all)."""
    locked = Ticket.objects.select_for_update().get(pk=incident.pk)
    if locked.problem_id is None:
        return locked
    problem_id = locked.problem_id
    Ticket.objects.filter(pk=locked.pk).update(problem=None)
    record_events([(locked, EventKind.PROBLEM_UNLINKED, actor, {"problem": problem_id})])
    locked.problem = None
    return locked


@transaction.atomic
def problem_solve(*, problem: Ticket, actor: User | None = None, reason: str = "") -> list[Ticket]:
    """Solve the problem and every linked incident that is still live; return those.

    Each incident is solved by ``ticket_status_set`` with its own history intact, so its
    SLA clock stops now and a breach it already had stays recorded.
    """
    from .services import ticket_status_set  # services re-exports this module

    locked = Ticket.objects.select_for_update().get(pk=problem.pk)
    if not locked.is_problem:
        raise InvalidInput("problem", f"{locked.reference} is not a problem ticket.")
    why = reason or f"solved with problem {locked.reference}"
    solved = [
        ticket_status_set(ticket=incident, status=Status.SOLVED, actor=actor, reason=why)
        for incident in Ticket.objects.filter(problem=locked)
        .exclude(status__in=FINISHED)
        .order_by("pk")
    ]
    ticket_status_set(ticket=locked, status=Status.SOLVED, actor=actor, reason=reason)
    return solved
