"""Macros: canned text with placeholders, plus the actions that go with it."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User

from tickets.models import Ticket

from . import reads
from .models import AgentProfile, Macro

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def for_ticket(
    ticket: Ticket, profile: AgentProfile, found: list[Macro] | None = None
) -> list[Macro]:
    """Return the active macros that fit the ticket's line, the agent's language first
    (``found``: those macros, when the caller has read them: workspace.reads.page_reads)."""
    if found is None:
        found = _active_macros(getattr(ticket, "line_id", None))
    return sorted(found, key=lambda m: (m.language not in ("", profile.language), m.name.lower()))


def _active_macros(line_id: int | None) -> list[Macro]:
    # Plain SQL and a plain cursor (see workspace/reads.py).
    found = reads.instances_and_extras(
        Macro,
        f'SELECT * FROM "{Macro._meta.db_table}" WHERE "is_active" '  # noqa: S608
        'AND ("line_id" IS NULL OR "line_id" = %s)',
        [line_id],
    )
    return [macro for macro, _extras in found]


def placeholders(ticket: Ticket, agent: User) -> dict[str, str]:
    contact = ticket.contact if ticket.contact_id else None
    account = ticket.account if ticket.account_id else None
    return {
        "customer_name": (contact.name if contact else "") or "",
        "ticket_number": ticket.reference,
        "reseller_id": (account.reseller_id if account else "") or "",
        "account_name": account.name if account else "",
        "agent_name": agent.get_full_name() or agent.get_username(),
        "subject": ticket.subject,
    }


def render_text(text: str, values: dict[str, str]) -> str:
    """Fill the ``{placeholder}``s; unknown ones stay as typed (so a typo shows)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")


def apply(macro: Macro, ticket: Ticket, agent: User) -> dict[str, Any]:
    """Return what the macro puts in the composer: text, status, assignee, tags."""
    assignee = {"me": str(agent.pk), "nobody": "none"}.get(macro.assign, "")
    return {
        "body": render_text(macro.body, placeholders(ticket, agent)),
        "status_after": macro.set_status,
        "assignee_after": assignee,
        "tags_add": macro.add_tags,
    }
