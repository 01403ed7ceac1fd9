"""The figures follow a change through the real path: the commit queues the refresh, and
a separate Celery worker process brings the facts and daily figures up to date."""

from __future__ import annotations

import pytest

from reports.models import DailyFigure, TicketFact
from tests.factories import open_ticket
from tests.processes import wait_until
from tickets import services
from tickets.models import Status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_refreshes_the_figures_after_a_commit(worker, departments, anna):
    ticket = open_ticket(subject="Queued", body="x", contact=anna, channel="portal")

    def created() -> int:
        return sum(DailyFigure.objects.filter(metric="created").values_list("value", flat=True))

    wait_until(lambda: created() == 1, 120, "the worker to count the new ticket", worker)
    services.ticket_status_set(ticket=ticket, status=Status.SOLVED)
    wait_until(
        lambda: DailyFigure.objects.filter(metric="solved", value=1).exists(),
        120,
        "the worker to count the solve",
        worker,
    )
    assert TicketFact.objects.get(ticket=ticket).status == Status.SOLVED
    worker.wait_for_task_success("reports.refresh_facts")
