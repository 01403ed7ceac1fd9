"""Rows for tickets that predate the workspace: ``migrate`` builds a small desk's itself and
leaves a big desk's to the worker or to ``manage.py workspace_rows --missing``, so it stays
quick on a million tickets; a fresh install (``make run``: migrate, seed_demo) lists every
ticket."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories import open_ticket
from tickets.models import Ticket
from workspace.models import TicketRow
from workspace.rows import ROW_FIELDS, rows_missing_fill, rows_refresh

ROOT = Path(__file__).resolve().parents[2]


def _rows() -> dict[int, tuple]:
    return {r[0]: r[1:] for r in TicketRow.objects.values_list("ticket_id", *ROW_FIELDS)}


def _tickets_without_rows(departments, count: int) -> list[int]:
    ids = [open_ticket(subject=f"Old ticket {n}").pk for n in range(count)]
    TicketRow.objects.all().delete()  # as on a desk from before the workspace
    return ids


def _migrate() -> str:
    out = StringIO()
    call_command("migrate", interactive=False, verbosity=1, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_migrate_builds_a_small_desks_rows(departments):
    ids = _tickets_without_rows(departments, 4)
    output = _migrate()
    assert "list rows built for 4 tickets" in output
    built = _rows()
    assert set(built) == set(ids)
    rows_refresh(ids)  # what the receivers would have written
    assert _rows() == built
    assert "list rows" not in _migrate()  # nothing to do the second time


@pytest.mark.django_db(transaction=True)
def test_migrate_leaves_a_big_desks_rows_to_the_worker(departments, settings):
    from tests.processes import start_worker

    settings.WORKSPACE_ROWS_INLINE = 3
    ids = _tickets_without_rows(departments, 7)
    output = _migrate()
    # migrate did not walk the tickets itself: it queued the backfill and said so.
    assert TicketRow.objects.count() == 0
    assert "workspace.rows_backfill" in output and "workspace_rows --missing" in output
    worker = start_worker()
    try:
        deadline = time.monotonic() + 90
        while TicketRow.objects.count() < len(ids) and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        worker.stop()
    built = _rows()
    assert set(built) == set(ids), "\n".join(worker.lines)
    rows_refresh(ids)
    assert _rows() == built


@pytest.mark.django_db
def test_missing_rows_fill_in_resumable_batches_and_the_command_finishes(departments):
    ids = _tickets_without_rows(departments, 5)
    rows_refresh([ids[1]])  # one ticket has its row already: left alone
    written, resume = rows_missing_fill(batch=2, seconds=0)
    assert (written, resume) == (2, ids[2])  # ids[0] and ids[2]: one batch, then stop
    written, resume = rows_missing_fill(after=resume, batch=2)
    assert (written, resume) == (2, None)
    out = StringIO()
    TicketRow.objects.filter(ticket_id=ids[4]).delete()
    call_command("workspace_rows", "--missing", stdout=out)
    assert "1 missing workspace rows built" in out.getvalue()
    assert set(_rows()) == set(ids) == set(Ticket.objects.values_list("pk", flat=True))


@pytest.mark.sqlite  # the subprocesses use the embedded setup whatever the pass
def test_fresh_install_lists_every_demo_ticket(tmp_path):
    """What `make run` does on a fresh clone: migrate, then seed_demo."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SUPPORTDESK_DB_NAME"}
    }
    env["SUPPORTDESK_VAR_DIR"] = str(tmp_path)
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        done = subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "Demo agents (workspace)" in done.stdout
    with sqlite3.connect(tmp_path / "supportdesk.sqlite3") as db:
        tickets, listed, unsolved = db.execute(
            "SELECT count(*), count(r.ticket_id), sum(r.unsolved) FROM tickets_ticket t "
            "LEFT JOIN workspace_ticketrow r ON r.ticket_id = t.id"
        ).fetchone()
    assert tickets >= 10 and listed == tickets and unsolved >= 5
