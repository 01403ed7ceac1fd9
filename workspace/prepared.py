"""The workspace's reads as PostgreSQL prepared statements: planned once per connection.

An agent's pages run the same statements on every request (the agent with permissions,
the sidebar, a view's rows, all the counts, the ticket page's fifteen reads), and
PostgreSQL spent more CPU planning them than running them: at 1,000,000 tickets the
counts' statement took ~2.5 ms to plan for ~1.4 ms to run (pgbench, one connection).
psycopg2, the driver here, binds values on the client and cannot prepare, so this does it
in SQL: the first time a connection runs a SELECT of a workspace GET view it sends
``PREPARE`` with the placeholders numbered (``$1``…), then ``EXECUTE name(values)``; the
values are still quoted by psycopg2, never pasted into SQL. After five runs PostgreSQL
keeps a generic plan when it costs no more than the custom ones: no planning at all.

A generic plan is made without the parameters' values, so it must not be shared by values
that want different plans: when the department views shared one statement, the generic
plan kept after five runs for one department cost 81 ms of PostgreSQL a request for a
department of another size at 1M tickets (1.5 ms planned for it; bench/README.md, sixth
round). So the skewed values (departments, lines, statuses, channels, severities, a saved
view's agent) are written into the statement's text as literals (``view_sql._in``:
integers, or known choices), one statement each; only values every plan suits (the
signed-in agent, a page's cursor, the moment) are parameters.
``tests/workspace/test_prepared.py::test_each_department_view_gets_a_plan_of_its_own``.

Only SELECTs, only inside ``prepared_reads()`` (workspace GET views; ``prepared_writes()``
for a write that asks for it), only on PostgreSQL,
and only with ``settings.DB_PREPARED_STATEMENTS`` (env ``DB_PREPARED_STATEMENTS``, on by
default). Turn it off behind a pooler in transaction mode (pgbouncer), where the next
transaction may get a server connection that never saw the ``PREPARE``. A statement
PostgreSQL cannot prepare (a placeholder whose type it cannot infer) runs as before. Each
connection keeps the ``MAX_PER_CONNECTION`` statements it used last (``DEALLOCATE`` for
the oldest).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.conf import settings
from django.db import connections

# Prepared statements live as long as the connection, and there is one per department,
# line and saved view (and per length of a long IN list), so each connection keeps the
# ones it used last, at most this many (a few hundred kB of server memory).
MAX_PER_CONNECTION = 200
_PLACEHOLDER = re.compile(r"%(s|%)")
_UNPREPARABLE: set[str] = set()  # statements PostgreSQL refused to prepare


def enabled(alias: str) -> bool:
    return bool(getattr(settings, "DB_PREPARED_STATEMENTS", False)) and (
        connections[alias].vendor == "postgresql"
    )


@contextmanager
def prepared_reads() -> Iterator[None]:
    """Run the SELECTs inside as prepared statements of their connection."""
    with _wrapped(_execute):
        yield


@contextmanager
def prepared_writes() -> Iterator[None]:
    """Run every statement inside, writes too, as a prepared statement of its connection:
    for a write each commit repeats whose planning outweighs its run (the tags' read
    model follow-up, ``workspace.rows``: ~0.4 ms planned for ~0.03 ms run)."""
    with _wrapped(_execute_any):
        yield


@contextmanager
def _wrapped(wrapper: Callable[..., Any]) -> Iterator[None]:
    """Run the statements inside through ``wrapper`` on every connection that prepares."""
    with ExitStack() as stack:
        for alias in connections:
            if enabled(alias):
                stack.enter_context(connections[alias].execute_wrapper(wrapper))
        yield


def _numbered(sql: str) -> str:
    """Return ``sql`` with psycopg2's ``%s`` as ``$1``, ``$2``… (and ``%%`` as ``%``)."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


def _statements(db: Any) -> OrderedDict[str, str]:
    """Return this connection's prepared statements (SQL → name), the one used last
    last; a new connection, or a reconnect, starts with none."""
    state = getattr(db, "_desk_prepared", None)
    if state is None or state[0] is not db.connection:
        state = (db.connection, OrderedDict())
        db._desk_prepared = state
        _keep_queries_readable(db)
    return state[1]


def _execute_any(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    return _execute(execute, sql, params, many, context, writes=True)


def _execute(
    execute: Callable[..., Any],
    sql: str,
    params: Any,
    many: bool,
    context: dict[str, Any],
    *,
    writes: bool = False,
) -> Any:
    if (
        many
        or getattr(context["cursor"].cursor, "name", None)  # a server-side cursor (.iterator())
        or isinstance(params, dict)
        or not (writes or sql.lstrip()[:6].upper() == "SELECT")
        or sql in _UNPREPARABLE
    ):
        return execute(sql, params, many, context)
    db = context["connection"]
    statements = _statements(db)
    name = statements.get(sql)
    if name is None:
        name = "sd_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:28]
        body = _numbered(sql) if params is not None else sql
        if len(statements) >= MAX_PER_CONNECTION:
            _old_sql, oldest = statements.popitem(last=False)
            _run(db, f"DEALLOCATE {oldest}")  # gone already (a reconnect, DISCARD): fine
        if not _run(db, f"PREPARE {name} AS {body}"):
            _UNPREPARABLE.add(sql)
            return execute(sql, params, many, context)
        statements[sql] = name
    else:
        statements.move_to_end(sql)
    if not params:
        return execute(f"EXECUTE {name}", None, many, context)
    marks = ", ".join(["%s"] * len(params))
    return execute(f"EXECUTE {name}({marks})", params, many, context)


def _run(db: Any, statement: str) -> bool:
    """Send ``statement`` (a PREPARE or DEALLOCATE) on a cursor of its own; False if
    PostgreSQL refused it. In a transaction a savepoint keeps a refusal from aborting it
    (PREPARE and DEALLOCATE outlive a rollback)."""
    in_transaction = not db.get_autocommit()
    with db.connection.cursor() as cursor:
        try:
            if in_transaction:
                cursor.execute("SAVEPOINT desk_prepare")
            cursor.execute(statement)
        except db.Database.Error:
            if in_transaction:
                cursor.execute("ROLLBACK TO SAVEPOINT desk_prepare")
            return False
        finally:
            if in_transaction:
                cursor.execute("RELEASE SAVEPOINT desk_prepare")
    return True


def _keep_queries_readable(db: Any) -> None:
    """Make the connection's query log (DEBUG, tests' captured queries) show the
    statement with its values, not ``EXECUTE sd_…``."""
    ops = db.ops
    if getattr(ops, "_desk_readable", False):
        return
    original = ops.last_executed_query

    def last_executed_query(cursor: Any, sql: str, params: Any) -> str | None:
        text = original(cursor, sql, params)
        if text is not None and text.startswith("EXECUTE sd_"):
            return cursor.mogrify(sql, params).decode()
        return text

    ops.last_executed_query = last_executed_query
    ops._desk_readable = True
