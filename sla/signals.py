"""Signals the SLA engine sends; other apps (the agents' workspace) subscribe to them.

``deadlines_changed`` is sent after the commit of a recompute with ``ticket_ids``: the
tickets whose clocks were just stored (their deadlines may have moved).
"""

from django.dispatch import Signal

deadlines_changed = Signal()
