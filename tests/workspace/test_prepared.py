"""The workspace's GET views run their reads as PostgreSQL prepared statements
(workspace/prepared.py): planned once per connection, same answers as plain statements."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import open_ticket
from tickets.models import Department
from workspace import prepared, shell, view_sql
from workspace.prepared import prepared_reads
from workspace.queues import ViewFilters

# Real commits: the tests close the connection (as CONN_MAX_AGE does) between requests.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_statements(settings):
    """Each test starts with a connection that has prepared nothing, prepared statements
    turned on (the default of settings.py; a test run's environment may turn it off)."""
    settings.DB_PREPARED_STATEMENTS = True
    shell.clear()
    connection.close()
    yield
    shell.clear()


def _prepared() -> dict[str, str]:
    """The current connection's prepared statements: name → SQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _without_tokens(html: str) -> str:
    # The CSRF token (64 letters and digits) is masked afresh on every page.
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "<token>", html)


def _pages(client, ticket) -> list[str]:
    paths = ["/desk/views/unassigned/", f"/desk/t/{ticket.number}/", "/desk/counts/?current=mine"]
    answers = [client.get(path) for path in paths]
    assert [a.status_code for a in answers] == [200, 200, 200]
    return [_without_tokens(a.content.decode()) for a in answers]


def test_pages_prepare_their_reads_once_and_reuse_them(desk, departments):
    ticket = open_ticket(subject="Printer on fire")
    _pages(desk, ticket)
    first = _prepared()
    statements = " ".join(first.values())
    # The agent with permissions, the sidebar, the rows, the counts, the ticket.
    for table in (
        '"auth_user"',
        '"tickets_department"',
        '"workspace_ticketrow"',
        '"tickets_ticket"',
    ):
        assert table in statements
    assert "$1" in statements  # values are parameters, not part of the statement
    _pages(desk, ticket)
    assert _prepared() == first  # the second round plans nothing new


def test_prepared_pages_are_the_plain_pages(desk, departments, settings):
    ticket = open_ticket(subject="Printer on fire")
    _pages(desk, ticket)  # the frames and shells kept by the first round
    prepared = _pages(desk, ticket)
    settings.DB_PREPARED_STATEMENTS = False
    connection.close()
    plain = _pages(desk, ticket)
    assert _prepared() == {}
    assert plain == prepared
    assert "Printer on fire" in prepared[1]


def test_writes_are_not_prepared(desk, departments):
    ticket = open_ticket(subject="Printer on fire")
    page = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    connection.close()
    response = desk.post(
        f"/desk/t/{ticket.number}/note/", {"body": "Checked the toner.", "version": version}
    )
    assert response.status_code in (200, 302)
    # Only the tags' read model follow-up, prepared on purpose (workspace.rows).
    kept = list(_prepared().values())
    assert all('WITH gone AS (DELETE FROM "workspace_ticketrowtag"' in s for s in kept), kept


def test_a_reconnected_connection_prepares_again(desk, departments):
    ticket = open_ticket(subject="Printer on fire")
    _pages(desk, ticket)
    assert _prepared()
    connection.close()  # e.g. CONN_MAX_AGE ran out: the server forgot the statements
    assert "Printer on fire" in _pages(desk, ticket)[1]
    assert _prepared()


def test_values_are_quoted_and_percent_signs_kept():
    with prepared_reads(), connection.cursor() as cursor:
        for _round in range(7):  # past the five custom plans, onto the generic one
            cursor.execute("SELECT %s || '%%', %s::int + 1", ["it's 100", 41])
            assert cursor.fetchone() == ("it's 100%", 42)
    assert any("$1 || '%'" in s for s in _prepared().values())


def test_a_statement_postgresql_cannot_prepare_runs_as_before_inside_a_transaction():
    # psycopg2 spells a tuple as a list, "IN (1, 2)": no placeholder PREPARE could take.
    sql = "SELECT count(*) FROM generate_series(1, 5) g WHERE g IN %s"
    with transaction.atomic(), prepared_reads(), connection.cursor() as cursor:
        cursor.execute(sql, [(1, 2, 9)])
        assert cursor.fetchone() == (2,)
        cursor.execute("SELECT %s::int", [3])  # the transaction is still usable
        assert cursor.fetchone() == (3,)
    assert not any("generate_series" in s for s in _prepared().values())


def test_the_query_log_shows_the_statement_not_execute():
    with (
        prepared_reads(),
        CaptureQueriesContext(connection) as captured,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT %s::int + 1", [1])
        cursor.execute("SELECT %s::int + 1", [2])
    logged = [q["sql"] for q in captured.captured_queries]
    assert logged == ["SELECT 1::int + 1", "SELECT 2::int + 1"]


def test_switched_off_nothing_is_prepared(desk, departments, settings):
    settings.DB_PREPARED_STATEMENTS = False
    ticket = open_ticket(subject="Printer on fire")
    _pages(desk, ticket)
    assert _prepared() == {}


def test_server_side_cursors_run_as_before(departments):
    # .iterator() reads through a named cursor (DECLARE … CURSOR): no PREPARE there.
    expected = sorted(d.name for d in departments.values())
    with transaction.atomic(), prepared_reads():
        found = Department.objects.order_by("name").values_list("name", flat=True)
        assert list(found.iterator()) == expected
        assert list(found) == expected


def _department_statements() -> list[tuple[str, int]]:
    """The prepared statements reading rows by department: (SQL, generic plans run)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%%\"department_id\" IN (%%'"
        )
        return cursor.fetchall()


def test_each_department_view_gets_a_plan_of_its_own(desk, departments):
    # At 1M tickets, the department views shared one statement: after five runs for one
    # department PostgreSQL kept a generic plan, and the next department, of another size
    # (here: none of its tickets), ran that plan (81 ms instead of 1.5; bench/README.md,
    # sixth round). The department is now part of each statement's text.
    big, empty = departments["customer-support"], departments["legal-abuse"]
    for n in range(3):
        open_ticket(subject=f"Printer {n}", department=big)
    for _round in range(7):  # past PostgreSQL's five custom plans
        assert desk.get("/desk/views/dept-customer-support/").status_code == 200
    answer = desk.get("/desk/views/dept-legal-abuse/")
    assert answer.status_code == 200 and "Printer 0" not in answer.content.decode()
    statements = _department_statements()
    assert statements
    for sql, generic_plans in statements:
        # A generic plan (made without the values) never covers more than one department.
        assert not re.search(r'"department_id" IN \(\$', sql), (sql, generic_plans)
    texts = " ".join(sql for sql, _plans in statements)
    assert f'"department_id" IN ({big.pk})' in texts
    assert f'"department_id" IN ({empty.pk})' in texts


def test_only_integers_and_known_choices_become_literals():
    where, params, _table = view_sql.view_where(
        ViewFilters(
            statuses=("open", "on_hold"),
            assignee="7",
            departments=(3,),
            lines=(12,),
            channels=("chat",),
            severities=(2,),
            tags=("it's vip",),
        ),
        user_id=5,
        now=view_sql._NOW_MARK,
    )
    for literal in ("IN ('open', 'on_hold')", "= 7", "IN (3)", "IN (12)", "IN ('chat')", "IN (2)"):
        assert literal in where
    assert params == ["it's vip"]  # a tag is a name someone typed: a parameter
    for bad in (
        ViewFilters(statuses=("open') OR (TRUE",)),
        ViewFilters(channels=("Chat",)),
        ViewFilters(departments=("3) OR (1=1",)),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError):
            view_sql.view_where(bad, user_id=5, now=view_sql._NOW_MARK)


def test_a_connection_keeps_the_statements_it_used_last(monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PER_CONNECTION", 3)
    with prepared_reads(), connection.cursor() as cursor:
        for n in (1, 2, 3, 1, 4, 5):  # 2 and 3 are the oldest when 4 and 5 come
            cursor.execute(f"SELECT %s::int + {n}", [10])
            assert cursor.fetchone() == (10 + n,)
    kept = sorted(re.search(r"\+ (\d)", s).group(1) for s in _prepared().values())
    assert kept == ["1", "4", "5"]
    with prepared_reads(), connection.cursor() as cursor:
        cursor.execute("SELECT %s::int + 2", [10])  # prepared again, 1 goes
        assert cursor.fetchone() == (12,)
    assert len(_prepared()) == 3
    oldest = next(n for n, s in _prepared().items() if "+ 4" in s)
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {oldest}")  # gone already when its turn comes
    with prepared_reads(), connection.cursor() as cursor:
        cursor.execute("SELECT %s::int + 3", [10])
        assert cursor.fetchone() == (13,)
    kept = sorted(re.search(r"\+ (\d)", s).group(1) for s in _prepared().values())
    assert kept == ["2", "3", "5"]  # 3 prepared, not taken for one PostgreSQL refuses
