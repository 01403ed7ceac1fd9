"""Parts of the ticket page made without Django's per-request machinery: they must show
what that machinery showed (the composer of a page opened afresh, translated choices)."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.factories import open_ticket
from tickets.models import Status, Ticket
from workspace import choices, composer, ticket_html
from workspace.forms import FreshReply, ReplyForm
from workspace.models import AgentProfile

pytestmark = pytest.mark.django_db(transaction=True)


def _composer(ticket: Ticket, form: object, channels: list) -> str:
    context = {
        "ticket": ticket,
        "csrf_token": "token",
        "version": 7,
        "channels": channels,
        "macros": [],
        "reply_form": form,
    }
    return ticket_html.composer_html(context)


def test_a_fresh_composer_is_the_unbound_reply_form(departments, anna, desk_agent):
    ticket = open_ticket(subject="Composer", contact=anna, channel="portal")
    for status in (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER):
        Ticket.objects.filter(pk=ticket.pk).update(status=status)
        ticket = Ticket.objects.get(pk=ticket.pk)
        channels = composer.reply_channels(ticket)
        for signature in ("", "-- Alice, Support"):
            profile, _ = AgentProfile.objects.update_or_create(
                user=desk_agent, defaults={"signature": signature}
            )
            for language in ("en", "ru"):
                with translation.override(language):
                    fresh = FreshReply(ticket=ticket, profile=profile, channels=channels)
                    form = ReplyForm(ticket=ticket, profile=profile, channels=channels)
                    html = _composer(ticket, fresh, channels)
                    assert html == _composer(ticket, form, channels), (status, signature)
                assert ('id="id_signature" checked' in html) == bool(signature)


def test_translated_choices_follow_the_active_language(db):
    with translation.override("ru"):
        ru = dict(choices.status_choices())
        severities = dict(choices.severity_choices())
    with translation.override("en"):
        en = dict(choices.status_choices())
        only = choices.status_choices([Status.OPEN, Status.SOLVED])
    assert (ru[Status.OPEN], en[Status.OPEN]) == ("Открыта", "Open")
    assert severities[1] == "К1 критическая"
    assert Status.MERGED not in en
    assert only == [(Status.OPEN, "Open"), (Status.SOLVED, "Solved")]
    only.append(("x", "y"))  # a caller's list is its own
    with translation.override("en"):
        assert choices.status_choices([Status.OPEN, Status.SOLVED]) == only[:2]
