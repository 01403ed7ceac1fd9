"""Asking "How did we do?" after every solve, and recording the answer.

``surveys_ask`` runs after the commit of a solve (``csat.receivers``) and again from the
beat for any solve it missed: one survey per solve event (a unique row), so a ticket
solved twice is asked twice and one solve is never asked twice. The question is mailed
through the outbox in the survey's own transaction, shown in the portal on the ticket
and at the end of a chat. A rating is recorded on the survey, and as a line in the
ticket's timeline (an internal note agents see).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from email.utils import formataddr

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, MailOut, mail_queue
from tickets.errors import InvalidInput, InvalidTransition
from tickets.models import (
    Channel,
    ContactEmail,
    Direction,
    EventKind,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.services import MessageIn, message_add

from .models import SCORES, Survey, Via
from .signals import survey_rated
from .texts import SCORE_LABELS, survey_language, survey_text
from .tokens import survey_token

log = logging.getLogger(__name__)
MAX_COMMENT = 2000


def is_solve(kind: str, data: dict) -> bool:
    return kind == EventKind.STATUS_CHANGED and data.get("status") == Status.SOLVED


def surveys_ask(solves: Iterable[tuple[int, int]]) -> list[Survey]:
    """Ask about each (ticket id, solve event id) not asked yet; return the new surveys.

    Not asked: a ticket reopened meanwhile (its next solve asks), cloned by the customer
    or merged, or without a contact to ask.
    """
    if not settings.SUPPORTDESK_CSAT_ENABLED:
        return []
    pairs = list(solves)
    tickets = Ticket.objects.select_related("contact", "department").in_bulk([t for t, _ in pairs])
    asked = set(
        Survey.objects.filter(solve_event_id__in=[e for _, e in pairs]).values_list(
            "solve_event_id", flat=True
        )
    )
    created = []
    for ticket_id, event_id in pairs:
        ticket = tickets.get(ticket_id)
        if event_id in asked or ticket is None or not _may_ask(ticket):
            continue
        try:
            with transaction.atomic():
                created.append(_ask(ticket, event_id))
        except IntegrityError:
            continue  # asked by a concurrent run: once per solve
    return created


def _may_ask(ticket: Ticket) -> bool:
    return (
        ticket.status == Status.SOLVED
        and not ticket.cloned_by_customer
        and ticket.merged_into_id is None
        and ticket.contact_id is not None
    )


def _ask(ticket: Ticket, event_id: int) -> Survey:
    contact = ticket.contact
    assert contact is not None  # only tickets with a contact are asked (see the check above)
    language = survey_language(ticket, getattr(contact, "language", ""))
    email = _primary_email(contact.pk)
    survey = Survey.objects.create(
        ticket=ticket, solve_event_id=event_id, contact=contact, email=email, language=language
    )
    if email:
        mail_queue(
            MailOut(
                kind=MailKind.CSAT_SURVEY,
                to=[email],
                subject=survey_text(ticket, "subject", language),
                body_text=render_to_string(
                    "csat/survey_mail.txt",
                    {
                        "intro": survey_text(ticket, "intro", language),
                        "reopen": survey_text(ticket, "reopen", language),
                        "links": score_links(survey, ticket, language),
                    },
                ),
                from_email=formataddr((ticket.department.name, ticket.department.inbox_email)),
                headers=dict(AUTO_GENERATED),
                ticket=ticket,
            )
        )
    return survey


def score_links(survey: Survey, ticket: Ticket, language: str) -> list[tuple[int, str, str]]:
    """Return (score, label, absolute one-click link) for each score, best first."""
    token = survey_token(survey.pk)
    base = settings.SUPPORTDESK_PUBLIC_URL.rstrip("/")
    return [
        (
            score,
            survey_text(ticket, f"score_{score}", language),
            base + reverse("csat:link", args=[token, score]),
        )
        for score in reversed(SCORES)
    ]


def _primary_email(contact_id: int) -> str:
    rows = ContactEmail.objects.filter(contact_id=contact_id).order_by("-is_primary", "id")
    return rows.values_list("email", flat=True).first() or ""


def surveys_ask_missed(*, hours: int = 48) -> int:
    """Ask about recent solves whose survey is missing (the after-commit step failed or
    the process died); return how many were asked."""
    since = timezone.now() - timedelta(hours=hours)
    tickets = Ticket.objects.filter(status=Status.SOLVED, updated_at__gte=since)
    solves: dict[int, int] = {}
    for ticket_id, event_id in (
        TicketEvent.objects.filter(
            ticket_id__in=tickets.values("pk"),
            kind=EventKind.STATUS_CHANGED,
            data__status=Status.SOLVED,
        )
        .order_by("ticket_id", "pk")
        .values_list("ticket_id", "pk")
    ):
        solves[ticket_id] = event_id  # the latest solve is the one standing
    return len(surveys_ask(solves.items()))


def survey_rate(*, survey: Survey, rating: int, comment: str = "", via: str) -> Survey:
    """Record ``rating`` (1–5) and an optional comment; a later answer to the same survey
    replaces the earlier one. Raise InvalidInput for a score out of range and
    InvalidTransition for a ticket merged or cloned since it was asked."""
    if rating not in SCORES:
        raise InvalidInput("rating", "Choose a rating from 1 (very poor) to 5 (excellent).")
    if via not in Via.values:
        raise InvalidInput("via", f"{via!r} is not a way to answer.")
    comment = " ".join((comment or "").replace("\x00", "").split(" "))[:MAX_COMMENT].strip()
    with transaction.atomic():
        locked = Survey.objects.select_for_update().select_related("ticket").get(pk=survey.pk)
        ticket = locked.ticket
        if ticket.merged_into_id is not None or ticket.cloned_by_customer:
            raise InvalidTransition(
                f"{ticket.reference} was merged into another request: no rating is needed."
            )
        changed = locked.rating != rating or (comment and comment != locked.comment)
        locked.rating, locked.rated_at, locked.rated_via = rating, timezone.now(), via
        if comment:
            locked.comment = comment
        locked.save(update_fields=["rating", "rated_at", "rated_via", "comment"])
        if changed:
            _timeline_note(locked, rating, comment, via)
        transaction.on_commit(lambda: survey_rated.send(sender=Survey, survey=locked))
    return locked


def _timeline_note(survey: Survey, rating: int, comment: str, via: str) -> None:
    text = f"Customer rating: {rating}/5 ({SCORE_LABELS[rating]}), {Via(via).label.lower()}."
    if comment:
        text += f"\nComment: {comment}"
    message_add(
        ticket=survey.ticket,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text=text,
            author_contact=survey.contact,
            metadata={"kind": "csat", "survey": survey.pk, "rating": rating, "via": via},
        ),
    )


def survey_for_ticket(ticket: Ticket) -> Survey | None:
    """Return the survey of the ticket's standing solve, if it was asked."""
    if ticket.status not in (Status.SOLVED, Status.CLOSED) or ticket.merged_into_id:
        return None
    return Survey.objects.filter(ticket=ticket).order_by("-created_at", "-pk").first()


def solves_of(events: Sequence) -> list[tuple[int, int]]:
    """Return (ticket id, event id) of the solve events among ``events`` (TicketEventRef)."""
    return [(e.ticket_id, e.event_id) for e in events if is_solve(e.kind, e.data)]
