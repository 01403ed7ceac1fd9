"""End to end with a real Celery worker: opening tickets queues detection (receiver ->
task), the worker flags a cross-channel duplicate and merges an exact re-send."""

from __future__ import annotations

import pytest

from duplicates.models import DuplicateFlag, TicketSignature
from tickets.models import Channel, Status, Ticket

from ..factories import open_ticket
from ..processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MAIL = "The transfer of northwind-shop.nl keeps failing: auth code invalid, domain unlocked."
CHAT = "[10:42] Anna: transfer northwind-shop.nl fails\n[10:43] Anna: auth code invalid"


def test_worker_flags_and_merges(worker, anna):
    first = open_ticket(subject="Transfer failing", body=MAIL, contact=anna)
    wait_until(
        lambda: TicketSignature.objects.filter(ticket=first).exists(),
        60,
        "detection of the first ticket",
        worker,
    )
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=CHAT, contact=anna)
    flag = wait_until(
        lambda: DuplicateFlag.objects.filter(ticket=chat).first(), 60, "a flag", worker
    )
    assert flag.candidate_id == first.pk
    again = open_ticket(subject="Transfer failing", body=MAIL, contact=anna)
    merged = wait_until(
        lambda: Ticket.objects.filter(pk=again.pk, status=Status.MERGED).first(),
        60,
        "the exact re-send to be merged",
        worker,
    )
    assert merged.merged_into_id == first.pk
    worker.wait_for_task_success("duplicates.detect_many")


def test_worker_proposes_a_problem_when_five_accounts_report_one_code(worker):
    """Detection queues the follow-up ``duplicates.propose`` for tickets naming a code; the
    worker counts the customers and files one proposal."""
    from duplicates.models import ProblemProposal

    from ..factories import AccountFactory, ContactFactory

    body = "Registering domains fails since 09:00 with error 2306 (parameter value policy)."
    for index in range(5):
        account = AccountFactory(name=f"Reseller {index}")
        contact = ContactFactory(account=account, email=f"ops{index}@reseller{index}.example")
        open_ticket(subject="Registration error 2306", body=body, contact=contact)
    proposal = wait_until(
        lambda: ProblemProposal.objects.filter(accounts=5).first(),
        90,
        "a problem proposal counting five accounts",
        worker,
    )
    assert (proposal.kind, proposal.value) == ("error", "2306")
    worker.wait_for_task_success("duplicates.propose")
