"""Signals of the mailboxes app (the workspace turns alerts into notifications)."""

from django.dispatch import Signal

# Sent after commit with ``alert`` (a MailboxAlert), ``state`` ("raised" or "resolved"),
# ``recipients`` (user ids of the admins told) and ``text`` (one line for a person).
mailbox_alert = Signal()
