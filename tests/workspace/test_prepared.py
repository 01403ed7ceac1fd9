"""The workspace's GET views run their reads as PostgreSQL prepared statements
(workspace/prepared.py): planned once per connection, same answers as plain statements."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import open_ticket
from tickets.models import Department
from workspace import shell
from workspace.prepared import prepared_reads

# Real commits: the tests close the connection (as CONN_MAX_AGE does) between requests.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_statements(settings):
    """Each test starts with a connection that has prepared nothing, prepared statements
    turned on (they are off by default: settings.py)."""
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
    assert _prepared() == {}


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
