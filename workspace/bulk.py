"""Bulk actions on checked tickets: each ticket goes through its own service call, so every
rule (allowed transitions, active departments, merged tickets) applies to each, and one
ticket's refusal does not stop the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tickets import services
from tickets.errors import InvalidInput, TicketError
from tickets.events import announcements_batched
from tickets.models import Department, Ticket
from tickets.tagging import clean_tag_names

MAX_TICKETS = 200
ACTIONS = ("assign", "status", "department", "severity", "tag", "untag", "merge")


@dataclass
class Outcome:
    done: int = 0
    errors: list[str] = field(default_factory=list)
    summary: str = ""
    confirm: dict[str, Any] | None = None  # a merge across accounts waits for this


def apply(actor: User, data: QueryDict) -> Outcome:
    """Apply ``data['action']`` with ``data['value']`` to the tickets ``data['ticket']``."""
    outcome = Outcome()
    ids = [int(v) for v in data.getlist("ticket") if v.isdigit()][:MAX_TICKETS]
    action = data.get("action", "")
    value = data.get("tags" if action in ("tag", "untag") else "value", "").strip()
    if not ids:
        outcome.errors.append(_("Tick at least one ticket first."))
        return outcome
    if action not in ACTIONS:
        outcome.errors.append(_("Choose what to do with the ticked tickets."))
        return outcome
    tickets = list(Ticket.objects.filter(pk__in=ids).order_by("number"))
    if action == "merge":
        return _merge(actor, tickets, confirmed=data.get("confirm") == "1", outcome=outcome)
    try:
        step = _step(action, value, actor)
    except InvalidInput as exc:
        outcome.errors.append(str(exc.detail))
        return outcome
    with announcements_batched():  # one refresh of the lists for all of them
        for ticket in tickets:
            try:
                step(ticket)
            except TicketError as exc:
                outcome.errors.append(f"{ticket.reference}: {exc.message}")
            else:
                outcome.done += 1
    outcome.summary = ngettext(
        "%(count)d ticket updated.", "%(count)d tickets updated.", outcome.done
    ) % {"count": outcome.done}
    return outcome


def _step(action: str, value: str, actor: User) -> Callable[[Ticket], Any]:
    if action == "assign":
        assignee = None
        if value == "me":
            assignee = actor
        elif value:
            assignee = get_user_model().objects.filter(pk=value if value.isdigit() else 0).first()
            if assignee is None:
                raise InvalidInput("value", _("Choose an agent to assign the tickets to."))
        return lambda t: services.ticket_assign(ticket=t, assignee=assignee, actor=actor)
    if action == "status":
        return lambda t: services.ticket_status_set(ticket=t, status=value, actor=actor)
    if action == "department":
        department = Department.objects.filter(pk=value if value.isdigit() else 0).first()
        if department is None:
            raise InvalidInput("value", _("Choose a department."))
        return lambda t: services.ticket_department_set(
            ticket=t, department=department, actor=actor
        )
    if action == "severity":
        if not value.isdigit():
            raise InvalidInput("value", _("Choose a severity."))
        return lambda t: services.ticket_severity_set(ticket=t, severity=int(value), actor=actor)
    names = clean_tag_names(value.replace(",", " ").split())
    if not names:
        raise InvalidInput("value", _("Type the tags to add or remove."))
    if action == "tag":
        return lambda t: services.ticket_tags_set(ticket=t, add=names, actor=actor)
    return lambda t: services.ticket_tags_set(ticket=t, remove=names, actor=actor)


def _merge(actor: User, tickets: list[Ticket], *, confirmed: bool, outcome: Outcome) -> Outcome:
    """Merge the ticked tickets into the oldest of them; across accounts only once the
    agent confirmed it."""
    if len(tickets) < 2:
        outcome.errors.append(_("Tick two or more tickets to merge them."))
        return outcome
    target, sources = tickets[0], tickets[1:]
    accounts = {t.account_id for t in tickets}
    if len(accounts) > 1 and not confirmed:
        outcome.confirm = {"target": target, "sources": sources, "tickets": tickets}
        return outcome
    for source in sources:
        try:
            with transaction.atomic():
                services.ticket_merge(
                    source=source, target=target, actor=actor, confirm_cross_account=confirmed
                )
        except TicketError as exc:
            outcome.errors.append(f"{source.reference}: {exc.message}")
        else:
            outcome.done += 1
    outcome.summary = ngettext(
        "%(count)d ticket merged into %(target)s.",
        "%(count)d tickets merged into %(target)s.",
        outcome.done,
    ) % {"count": outcome.done, "target": target.reference}
    return outcome
