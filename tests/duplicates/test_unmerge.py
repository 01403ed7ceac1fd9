"""Duplicates and un-merge: cloned re-sends are marked, an un-merged pair is dismissed,
and the ticket admin shows flags (either side) and filters by them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from duplicates.models import DuplicateFlag, FlagStatus
from duplicates.services import duplicates_detect, flag_merge
from tickets.models import Channel, Status, Ticket
from tickets.services import ticket_unmerge

from ..factories import open_ticket

pytestmark = pytest.mark.django_db

MAIL = "The transfer of northwind-shop.nl fails: auth code invalid, the domain is unlocked."
CHAT = "[10:42] Anna: transfer northwind-shop.nl fails, auth code invalid, domain unlocked"


@pytest.fixture
def first(departments, anna):
    ticket = open_ticket(subject="Transfer failing", body=MAIL, contact=anna)
    duplicates_detect(ticket.pk, notify=False)
    return ticket


@pytest.fixture
def flag(first, anna):
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=CHAT, contact=anna)
    duplicates_detect(chat.pk, notify=False)
    return DuplicateFlag.objects.get(ticket=chat)


def test_exact_resend_auto_merge_marks_the_copy_cloned_by_customer(first, anna):
    again = open_ticket(subject="Transfer failing", body=MAIL, contact=anna)
    result = duplicates_detect(again.pk, notify=False)
    assert result.merged_into == first.pk
    assert Ticket.objects.get(pk=again.pk).cloned_by_customer


def test_agent_merge_of_a_flag_is_not_cloned_by_customer(flag):
    flag_merge(flag=flag)
    assert not Ticket.objects.get(pk=flag.ticket_id).cloned_by_customer


def test_unmerge_dismisses_the_pair_and_detection_leaves_it_alone(
    first, anna, django_capture_on_commit_callbacks
):
    again = open_ticket(subject="Transfer failing", body=MAIL, contact=anna)
    duplicates_detect(again.pk, notify=False)
    assert DuplicateFlag.objects.get(ticket=again).status == FlagStatus.MERGED
    with django_capture_on_commit_callbacks(execute=True):
        ticket_unmerge(ticket=again)
    flag = DuplicateFlag.objects.get(ticket=again)
    assert flag.status == FlagStatus.DISMISSED
    result = duplicates_detect(again.pk, notify=False)
    assert result.merged_into is None
    assert Ticket.objects.get(pk=again.pk).status == Status.NEW


def test_ticket_page_lists_flags_on_either_side_with_score_and_reasons(admin, flag):
    for ticket, other, relation in (
        (flag.ticket, flag.candidate, "possible duplicate of"),
        (flag.candidate, flag.ticket, "possibly duplicated by"),
    ):
        url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
        page = admin.get(url).content.decode()
        assert "Duplicate flags (either side)" in page
        assert relation in page and other.reference in page
        assert f"{flag.score}"[:4] in page and flag.reasons[0] in page


def test_saving_a_ticket_leaves_its_flags_alone(admin, flag):
    ticket = flag.candidate
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    data = {
        "status": Status.OPEN,
        "severity": ticket.severity,
        "department": ticket.department_id,
        "assignee": "",
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
        "duplicate_flags-TOTAL_FORMS": 1,
        "duplicate_flags-INITIAL_FORMS": 1,
        "duplicate_flags-0-id": flag.pk,
        "duplicate_flags-0-ticket": ticket.pk,
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = DuplicateFlag.objects.get(pk=flag.pk)
    assert (saved.ticket_id, saved.candidate_id, saved.status) == (
        flag.ticket_id,
        flag.candidate_id,
        FlagStatus.SUGGESTED,
    )
    assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN


def test_ticket_list_filters_possible_duplicates(admin, flag, departments):
    other = open_ticket(subject="Invoice question", body="Where is invoice 42?")
    url = reverse("admin:tickets_ticket_changelist")
    page = admin.get(url, {"possible_duplicate": "yes"}).content.decode()
    assert flag.ticket.reference in page and other.reference not in page
    page = admin.get(url, {"possible_duplicate": "no"}).content.decode()
    assert other.reference in page and flag.ticket.reference not in page
