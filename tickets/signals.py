"""Signals other apps subscribe to (sla, duplicate detection, search); tickets imports none
of them.

``ticket_events`` is sent after the transaction that made the changes commits, with
``events``: a list of ``TicketEventRef`` (ticket id, event id, kind, the event's data).
A single change sends a list of its events; a batch (an email import) sends one list for
everything it committed, so receivers can queue one task for many tickets.
"""

from typing import Any, NamedTuple

from django.dispatch import Signal


class TicketEventRef(NamedTuple):
    """What a receiver learns about one committed TicketEvent."""

    ticket_id: int
    event_id: int
    kind: str
    data: dict[str, Any]


ticket_events = Signal()


# Sent *inside* the transaction that writes, so what a receiver writes (the search index)
# commits or rolls back with the change itself. Receivers must only write rows of their
# own; an exception aborts the change. Bulk inserts send one signal for the whole batch.
messages_stored = Signal()
"""``messages``: the Message rows just inserted (their attachments stored); optionally
``filenames``: each of those messages' attachment file names in id order (none: no
attachments), which the sender holds, so a receiver need not read them back."""
tickets_stored = Signal()
"""``tickets``: the Ticket rows just inserted (opened or split off)."""
messages_moved = Signal()
"""``message_ids`` now belong to ``ticket_id`` (a merge, un-merge or split moved them)."""
intake_stored = Signal()
"""``ticket_ids``: the tickets an intake (a batch of stored inbound records) opened or gave
a customer message, sent once it has written everything, still inside its transaction: a
receiver brings what it keeps of those tickets up to date in the same commit (the SLA
deadlines), so nothing waits for a follow-up task behind the next intake. ``messages``:
those customer messages as stored, each with the ticket object the intake holds (a
receiver reads what they already say from them instead of reading it back)."""
# Sent by ``manage.py seed_demo`` inside its transaction, with ``contacts`` (by email
# address), ``agent`` (the demo login, or None) and ``password_for`` (a username's demo
# password): other apps add their demo data and return lines for the banner.
demo_seeded = Signal()
