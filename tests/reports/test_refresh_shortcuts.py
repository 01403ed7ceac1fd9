"""A refresh skips the tickets whose facts it would not change, and reads the tickets'
states with plain SQL: both give what the full path gives (the random history of
test_rollups checks the figures end to end; these check the shortcuts themselves)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from reports.contributions import decode, encode, ticket_states
from reports.facts import facts_insert, facts_refresh, figures_add
from reports.models import OpenFigure, TicketFact
from reports.open_now import open_add, open_keys_of
from supportdesk.sql import aware
from tests.factories import AgentFactory, open_ticket
from tickets import services
from tickets.models import Status, Ticket
from tickets.services import MessageIn, message_add

from .direct import direct_figures, rollup_figures

pytestmark = pytest.mark.django_db(transaction=True)


def _desk(anna) -> list[int]:
    """Open, answer, solve and leave open a few tickets (facts refreshed as they commit)."""
    agent = AgentFactory(username="olga")
    with time_machine.travel(datetime(2026, 3, 2, 23, 30, tzinfo=UTC), tick=False) as clock:
        tickets = [
            open_ticket(subject=f"Problem {i}", body=f"Broken {i}", contact=anna) for i in range(3)
        ]
        clock.shift(timedelta(hours=2))  # past midnight in the report zone
        message_add(
            ticket=tickets[0],
            message=MessageIn(
                channel="email", direction="outbound", body_text="On it.", author_user=agent
            ),
        )
        services.ticket_assign(ticket=tickets[1], assignee=agent)
        services.ticket_status_set(ticket=tickets[1], status=Status.SOLVED, actor=agent)
    return [t.pk for t in tickets]


def _fact_writes(queries: list[dict]) -> list[str]:
    """The statements that wrote facts or figures."""
    written = ("reports_ticketfact", "reports_dailyfigure", "reports_openfigure")
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE", "WITH"))
        and any(table in q["sql"] for table in written)
        and not q["sql"].startswith("INSERT INTO reports_ticketfact")  # the empty rows' insert
    ]


def test_a_refresh_of_unchanged_tickets_writes_nothing(departments, anna, eager_tasks):
    """The stored contributions, as the database prints them, equal the new ones encoded:
    the refresh compares them and writes no fact and no figure."""
    ids = _desk(anna)
    figures = rollup_figures()
    assert figures == direct_figures()

    with CaptureQueriesContext(connection) as captured:
        assert facts_refresh(ids) == 3

    assert _fact_writes(captured.captured_queries) == []
    assert rollup_figures() == figures


def test_a_fact_stored_in_another_form_takes_the_full_path(departments, anna, eager_tasks):
    """Contributions stored in another order (an older writer, a hand edit) differ as text
    from the new ones: the refresh decodes them, adds new − old (zero here) and rewrites
    the fact in the canonical form; the next refresh skips it."""
    ids = _desk(anna)
    figures = rollup_figures()
    fact = TicketFact.objects.get(ticket_id=ids[1])
    canonical = fact.contributions
    assert len(canonical) > 1
    TicketFact.objects.filter(pk=fact.pk).update(contributions=canonical[::-1])

    with CaptureQueriesContext(connection) as captured:
        facts_refresh(ids)

    assert any("UPDATE reports_ticketfact" in q["sql"] for q in captured.captured_queries)
    assert TicketFact.objects.get(ticket_id=ids[1]).contributions == canonical
    assert rollup_figures() == figures == direct_figures()
    with CaptureQueriesContext(connection) as captured:
        facts_refresh(ids)
    assert _fact_writes(captured.captured_queries) == []


def test_a_changed_dimension_alone_is_written(departments, anna, eager_tasks):
    """A status change that moves no daily figure (open → pending) still updates the fact
    and what is open now: the shortcut compares the dimensions too."""
    ids = _desk(anna)
    ticket = Ticket.objects.get(pk=ids[2])
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.PENDING_CUSTOMER)  # no event

    facts_refresh([ticket.pk])

    assert TicketFact.objects.get(ticket_id=ticket.pk).status == Status.PENDING_CUSTOMER
    assert OpenFigure.objects.filter(status=Status.PENDING_CUSTOMER, value=1).count() == 1
    assert rollup_figures() == direct_figures()


def test_states_read_with_sql_equal_the_models(departments, anna, eager_tasks):
    """Each state's dimensions equal the ticket's as the ORM reads it (aware datetimes on
    SQLite too), and a ticket that does not exist has none."""
    ids = _desk(anna)
    states = ticket_states([*ids, 10**9])
    assert sorted(states) == ids
    for ticket in Ticket.objects.filter(pk__in=ids):
        state = states[ticket.pk]
        assert (state.line_id, state.department_id, state.status, state.assignee_id) == (
            ticket.line_id,
            ticket.department_id,
            ticket.status,
            ticket.assignee_id or 0,
        )
        assert state.created_at == ticket.created_at
        assert state.created_at.utcoffset() == timedelta(0)


def test_aware_reads_what_either_database_returns():
    moment = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert aware(moment) == moment
    assert aware(moment.replace(tzinfo=None)) == moment
    assert aware("2026-03-02 23:30:00") == moment
    assert aware(None) is None


def _ticket_xmax(ids: list[int]) -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmax::text FROM tickets_ticket WHERE id = ANY(%s)", [ids])
        return dict(cursor.fetchall())


@pytest.mark.postgres  # row locks: PostgreSQL's (deselected in the embedded pass)
def test_only_tickets_given_a_new_fact_are_locked(departments, anna, eager_tasks):
    """A row lock marks the ticket's row (its xmax): a ticket that has a fact is held by
    the fact's lock alone; one that gets its first fact is held against deletion."""
    ids = _desk(anna)
    TicketFact.objects.filter(ticket_id=ids[0]).delete()
    before = _ticket_xmax(ids)

    facts_refresh(ids)

    after = _ticket_xmax(ids)
    assert after[ids[0]] != before[ids[0]]  # locked FOR KEY SHARE: its fact was created
    assert [after[i] for i in ids[1:]] == [before[i] for i in ids[1:]]
    assert TicketFact.objects.filter(ticket_id__in=ids).count() == 3
    assert TicketFact.objects.get(ticket_id=ids[0]).contributions  # filled, not left empty


def _forget(ticket_id: int) -> None:
    """Delete a ticket's fact and take what it counted out of the figures: the ticket is
    as one whose first refresh has not run yet."""
    fact = TicketFact.objects.get(ticket_id=ticket_id)
    figures_add({k: -v for k, v in decode(fact.contributions).items()})
    open_add({k: -1 for k in open_keys_of(fact)})
    fact.delete()


def test_a_first_fact_is_inserted_complete_in_one_statement(departments, anna, eager_tasks):
    """A ticket without a fact gets it complete, by one INSERT and no UPDATE of the same
    row, and the figures equal the full recount; a ticket that is gone gets none."""
    ids = _desk(anna)
    _forget(ids[0])

    with CaptureQueriesContext(connection) as captured:
        facts_refresh([ids[0], 10**9])

    sqls = [q["sql"] for q in captured.captured_queries]
    assert len([s for s in sqls if s.startswith("INSERT INTO reports_ticketfact")]) == 1
    assert not [s for s in sqls if "UPDATE reports_ticketfact" in s]
    assert TicketFact.objects.get(ticket_id=ids[0]).contributions == encode(
        ticket_states([ids[0]])[ids[0]].contributions
    )
    assert not TicketFact.objects.filter(ticket_id=10**9).exists()
    assert rollup_figures() == direct_figures()


def test_facts_insert_leaves_an_existing_fact_alone(departments, anna, eager_tasks):
    """The insert's ON CONFLICT: a fact another refresh wrote first is neither overwritten
    nor reported as inserted (the refresh then takes the locked path for it)."""
    ids = _desk(anna)
    before = TicketFact.objects.get(ticket_id=ids[1]).contributions
    state = ticket_states([ids[1]])[ids[1]]
    state.contributions = {}

    assert facts_insert([(ids[1], state, "[]")]) == set()
    assert TicketFact.objects.get(ticket_id=ids[1]).contributions == before


@pytest.mark.postgres  # two connections and a row lock: PostgreSQL's
def test_a_fact_inserted_by_another_refresh_meanwhile_is_corrected(departments, anna, eager_tasks):
    """Another refresh inserts the ticket's first fact from an older state after ours
    read the facts; the ticket changes while our insert waits for that one: our refresh
    finds the fact and corrects it by new − old with the state read again after the lock
    (the one read before is older than the change). The figures equal the full recount."""
    ids = _desk(anna)
    ticket_id = ids[0]
    _forget(ticket_id)
    stale = ticket_states([ticket_id])[ticket_id]
    stale.contributions = {k: v for k, v in stale.contributions.items() if k[6] != "replies"}
    stale.status = Status.NEW
    assert stale.contributions  # still counts as created
    inserted, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_refresh() -> None:
        try:
            with transaction.atomic():
                facts_insert([(ticket_id, stale, json.dumps(encode(stale.contributions)))])
                figures_add(dict(stale.contributions))
                open_add({k: 1 for k in open_keys_of(stale)})
                inserted.set()
                go.wait(30)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            inserted.set()
        finally:
            connection.close()

    def ours() -> None:
        try:
            facts_refresh([ticket_id])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    other = threading.Thread(target=other_refresh)
    other.start()
    assert inserted.wait(30)
    refresh = threading.Thread(target=ours)
    refresh.start()
    _wait_for_a_lock_wait()
    Ticket.objects.filter(pk=ticket_id).update(status=Status.PENDING_CUSTOMER)  # no event
    go.set()
    other.join(30)
    refresh.join(30)

    assert errors == []
    fact = TicketFact.objects.get(ticket_id=ticket_id)
    assert fact.contributions == encode(ticket_states([ticket_id])[ticket_id].contributions)
    assert fact.status == Status.PENDING_CUSTOMER
    assert rollup_figures() == direct_figures()


def _wait_for_a_lock_wait() -> None:
    """Return once another backend waits for a lock (ours, on the other's insert)."""
    for _ in range(3000):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the refresh never waited for the other one's insert")
