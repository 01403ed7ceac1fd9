"""Recompute SLA clocks whenever tickets change (tickets.signals.ticket_events).

Mail and webhooks take the short way: an intake batch sends ``intake_stored`` inside its
own transaction and the deadlines of its tickets are stored in that same commit, so a
steady stream of mail never makes them wait behind it on the follow-up queue. The events
that recompute covered are then not queued again (``_covered``: per thread, ticket →
the newest event the recompute read). Every other change queues the recompute task.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import OperationalError, transaction
from django.dispatch import receiver

from tickets.models import Message
from tickets.signals import TicketEventRef, intake_stored, ticket_events

log = logging.getLogger(__name__)

# Events that cannot move a clock. `created` is always committed together with the first
# message's `message_added` (ticket_open), whose task sees both; assignment and a
# verified sender are no input.
IGNORED_KINDS = frozenset({"created", "assigned", "sender_verified"})
_local = threading.local()
COVERED_MAX = 10_000  # tickets remembered per thread (~1 MB)


def _covered() -> dict[int, int]:
    if not hasattr(_local, "covered"):
        _local.covered = {}
    return _local.covered


@receiver(intake_stored, dispatch_uid="sla.recompute_in_intake")
def recompute_in_intake(
    sender: Any, ticket_ids: list[int], messages: list[Message] | None = None, **kwargs: Any
) -> None:
    """Store the deadlines of the intake's tickets in the intake's own transaction: from
    the ``messages`` it held where they are the whole story (``sla.intake``), else read.

    In a savepoint: if it fails the intake stands and the ticket events queue the task as
    for any other change. What it covered is remembered once the intake commits (an
    intake sends its events as one list after its last commit, ``announcements_batched``),
    and kept: a committed event id is never reused, and an event this thread writes later
    has a higher id than any the recompute read, so it is never taken for covered. The
    map is emptied when it grows (a queued recompute too many, no harm).
    """
    from .intake import intake_sla_store
    from .services import tickets_sla_recompute

    try:
        with transaction.atomic():
            if messages is not None and {m.ticket_id for m in messages} == set(ticket_ids):
                through = intake_sla_store(messages)
            else:
                through = {
                    pk: row.computed_from_event
                    for pk, row in tickets_sla_recompute(ticket_ids, announce=False).items()
                    if row is not None and row.computed_from_event is not None
                }
    except OperationalError:
        raise  # the database: the intake itself is retried
    except Exception:
        log.exception("SLA recompute of %d tickets in their intake failed", len(ticket_ids))
        return
    transaction.on_commit(lambda: _remember(through))


def _remember(through: dict[int, int]) -> None:
    covered = _covered()
    if len(covered) > COVERED_MAX:
        covered.clear()
    covered.update(through)


@receiver(ticket_events, dispatch_uid="sla.recompute_on_ticket_events")
def recompute_on_ticket_events(sender: Any, events: list[TicketEventRef], **kwargs: Any) -> None:
    """Queue one recompute task for every ticket whose clocks the committed events move
    (and that the intake's own recompute has not read already)."""
    covered = _covered()
    ticket_ids = sorted(
        {
            e.ticket_id
            for e in events
            if _moves_clocks(e) and e.event_id > covered.get(e.ticket_id, 0)
        }
    )
    if not ticket_ids:
        return
    from .tasks import recompute_tickets

    try:
        recompute_tickets.delay(ticket_ids)
    except Exception:  # broker down: the ticket change stands; the next event recomputes
        log.exception("could not queue the SLA recompute of tickets %s", ticket_ids)


def _moves_clocks(event: TicketEventRef) -> bool:
    # An internal note (an agent's, a bounce, an out-of-office) answers nobody.
    if event.kind == "message_added" and event.data.get("direction") == "internal":
        return False
    return event.kind not in IGNORED_KINDS
