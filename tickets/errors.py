"""Typed errors the ticket services raise; each message says what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class TicketError(Exception):
    """Base of every error a ticket service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(TicketError):  # noqa: N818 - reads better at call sites than InvalidInputError
    """A value given to a service is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: StrOrPromise) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


class InvalidTransition(TicketError):  # noqa: N818
    """The ticket cannot move from its current state to the one asked for."""


class TicketClosed(TicketError):  # noqa: N818
    """The ticket is closed for good; open a new ticket (linked to it) instead."""


class MergeError(TicketError):
    """The two tickets cannot be merged as asked."""


class StaleTicket(TicketError):  # noqa: N818
    """The ticket changed after the version the caller based its change on.

    ``events`` are the TicketEvents recorded since that version (oldest first), so the
    caller can show what happened instead of applying its change blindly.
    """

    def __init__(self, message: str, events: list) -> None:
        super().__init__(message)
        self.events = events


class TransactionRequired(TicketError):  # noqa: N818
    """A check that only holds inside the caller's transaction was called outside one."""


class CrossAccountMerge(MergeError):  # noqa: N818
    """The tickets belong to two accounts: merging needs ``confirm_cross_account=True``."""
