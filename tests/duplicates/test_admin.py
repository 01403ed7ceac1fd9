"""The flag admin: list with filter and links, merge and dismiss actions; ticket filter."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from duplicates.admin import PossibleDuplicateFilter
from duplicates.models import DuplicateFlag, FlagStatus
from duplicates.services import duplicates_detect
from tickets.models import Channel, Status, Ticket

from ..factories import open_ticket

pytestmark = pytest.mark.django_db

MAIL = "The transfer of northwind-shop.nl fails: auth code invalid, the domain is unlocked."
CHAT = "[10:42] Anna: transfer northwind-shop.nl fails, auth code invalid, domain unlocked"


@pytest.fixture
def flag(departments, anna):
    first = open_ticket(subject="Transfer failing", body=MAIL, contact=anna)
    duplicates_detect(first.pk)
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=CHAT, contact=anna)
    duplicates_detect(chat.pk, notify=False)
    return DuplicateFlag.objects.get(ticket=chat)


def test_changelist_links_both_tickets_and_filters(admin, flag):
    url = reverse("admin:duplicates_duplicateflag_changelist")
    page = admin.get(url).content.decode()
    for ticket in (flag.ticket, flag.candidate):
        assert reverse("admin:tickets_ticket_change", args=[ticket.pk]) in page
        assert ticket.reference in page
    assert "same domain: northwind-shop.nl" in page
    assert flag.ticket.reference not in admin.get(url + "?status=dismissed").content.decode()


def test_merge_action_merges_through_the_service(admin, flag):
    response = admin.post(
        reverse("admin:duplicates_duplicateflag_changelist"),
        {"action": "merge_into_candidate", "_selected_action": [flag.pk]},
        follow=True,
    )
    assert response.status_code == 200
    flag.refresh_from_db()
    assert flag.status == FlagStatus.MERGED
    assert Ticket.objects.get(pk=flag.ticket_id).status == Status.MERGED


def test_dismiss_action(admin, flag):
    admin.post(
        reverse("admin:duplicates_duplicateflag_changelist"),
        {"action": "dismiss", "_selected_action": [flag.pk]},
    )
    flag.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED


def test_possible_duplicate_ticket_filter(flag):
    model_admin = site._registry[Ticket]
    request = RequestFactory().get("/", {"possible_duplicate": "yes"})
    chosen = PossibleDuplicateFilter(
        request, {"possible_duplicate": ["yes"]}, Ticket, model_admin
    ).queryset(request, Ticket.objects.all())
    assert list(chosen) == [flag.ticket]


def test_problem_proposal_opened_and_answered_from_the_admin(admin, agent, departments):
    """The proposal list, its action opening the problem ticket, and the reply-to-all form
    that answers each incident (English where its language has no text)."""
    from duplicates.models import ProblemProposal, ProposalStatus
    from tickets.models import Direction, Message

    from .test_problems import report

    reported = [report(i) for i in range(5)]
    changelist = reverse("admin:duplicates_problemproposal_changelist")
    assert "error 2306" in admin.get(changelist).content.decode()
    proposal = ProblemProposal.objects.get()
    response = admin.post(
        changelist, {"action": "open_problem", "_selected_action": [proposal.pk]}, follow=True
    )
    assert "opened with 5 incidents." in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.OPENED

    reply = reverse("admin:duplicates_problemproposal_reply", args=[proposal.pk])
    assert "Send to all incidents" in admin.get(reply).content.decode()
    assert "This field is required" in admin.post(reply, {"ru": "Готово"}).content.decode()
    response = admin.post(reply, {"en": "Fixed, please retry.", "ru": "Исправлено."})
    assert response.status_code == 302
    for ticket, lang in reported:
        answer = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
        assert answer.body_text == ("Исправлено." if lang == "ru" else "Fixed, please retry.")
