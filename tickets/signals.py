"""Signals other apps subscribe to (sla, duplicate detection); tickets imports none of them.

``ticket_event`` is sent after the transaction that made the change commits, with
``ticket_id`` (int), ``event_id`` (int) and ``kind`` (an EventKind value).
"""

from django.dispatch import Signal

ticket_event = Signal()
