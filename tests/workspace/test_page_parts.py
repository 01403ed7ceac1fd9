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


def test_the_panels_short_lists_come_in_one_statement_in_order(desk, departments, anna):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.models import ContactEmail, ContactPhone, Tag

    ticket = open_ticket(subject="Lists", contact=anna)
    ContactEmail.objects.filter(contact=anna).update(is_primary=False)
    ContactEmail.objects.create(contact=anna, email="zz-primary@northwind.example", is_primary=True)
    ContactPhone.objects.create(contact=anna, number="+31200000002")
    ContactPhone.objects.create(contact=anna, number="+31200000001")
    ticket.tags.add(*(Tag.objects.create(name=n) for n in ("zeta", "alpha", "mid")))
    follow_ups = [open_ticket(subject=f"Again {i}", contact=anna) for i in range(12)]
    Ticket.objects.filter(pk__in=[t.pk for t in follow_ups]).update(linked_to=ticket)
    desk.get(f"/desk/t/{ticket.number}/")
    with CaptureQueriesContext(connection) as captured:
        html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    lists = [
        q["sql"]
        for q in captured.captured_queries
        if any(
            t in q["sql"] for t in ("contactemail", "contactphone", "WHERE linked_to_id", "_tags")
        )
    ]
    assert len(lists) == 1, lists  # addresses, phones, follow-ups and tags: one statement
    customer = html.split('id="customer"')[1].split("</section>")[0]
    assert customer.index("zz-primary@northwind.example") < customer.index("anna@northwind.example")
    assert customer.index("+31200000002") < customer.index("+31200000001")  # as entered
    head = html.split('class="ticket-head"')[1].split("</header>")[0]
    assert [t.split("<")[0] for t in head.split('<span class="tag">')[1:]] == [
        "alpha",
        "mid",
        "zeta",
    ]
    shown = [int(p.split("/desk/t/")[1].split("/")[0]) for p in html.split("Follow-up: ")[1:]]
    assert shown == sorted(t.number for t in follow_ups)[:10]


def test_the_keep_status_choice_follows_the_language_and_the_status(departments, anna):
    from workspace.forms import status_after_choices

    ticket = open_ticket(subject="Keep", contact=anna)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.OPEN)
    ticket = Ticket.objects.get(pk=ticket.pk)
    with translation.override("ru"):
        assert status_after_choices(ticket)[0] == ("", "(оставить «Открыта»)")
    with translation.override("en"):
        assert status_after_choices(ticket)[0] == ("", "(keep Open)")
        ticket.status = Status.PENDING_CUSTOMER
        keep, *others = status_after_choices(ticket)
    assert keep == ("", "(keep Pending customer)")
    assert Status.PENDING_CUSTOMER not in dict(others) and Status.OPEN in dict(others)


def test_the_sla_clocks_and_their_calendar_come_in_one_statement(desk, departments, presets, anna):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sla.services import ticket_sla_recompute

    ticket = open_ticket(subject="Deadlines", contact=anna)
    sla = ticket_sla_recompute(ticket.pk)
    assert sla is not None and sla.calendar is not None
    desk.get(f"/desk/t/{ticket.number}/")
    with CaptureQueriesContext(connection) as captured:
        html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if "sla_ticketsla" in q["sql"] or "sla_businesscalendar" in q["sql"]
    ]
    assert len(reads) == 1, reads
    assert "business time left" in html.split('id="sla"')[1].split("</section>")[0]
    from sla.models import BusinessCalendar, TicketSla
    from workspace.reads import ticket_sla

    got, want = ticket_sla(ticket), TicketSla.objects.select_related("calendar").get(pk=sla.pk)
    for model, a, b in ((TicketSla, got, want), (BusinessCalendar, got.calendar, want.calendar)):
        fields = model._meta.concrete_fields
        assert [getattr(a, f.attname) for f in fields] == [getattr(b, f.attname) for f in fields]
