"""Loading the tickets a search page shows, with what their rows show.

``ticket_list().in_bulk(ids)`` gives the same objects, but compiling its four-way
``select_related`` costs the desk's process ~2 ms a search and planning the five-table
join ~1 ms of PostgreSQL's: a fifth of a search's CPU, which 8 searches on 2 cores
queue for. Here the SQL is built once per process and the related objects are attached
the way ``select_related`` attaches them. On PostgreSQL the tickets, their related rows
and the texts of the messages the snippets are cut from come in one round trip, a
prepared statement (planned once per connection: ``workspace.prepared``); each round
trip of a search waits for a core when 8 searches share 2 (five of them did, at ~11
statements a search). Elsewhere (SQLite) one statement per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast
from weakref import WeakKeyDictionary

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from supportdesk.db_router import read_connection
from tickets.models import Message, Ticket
from tickets.selectors import ticket_list
from workspace.prepared import prepared_reads
from workspace.reads import made_from_db


@lru_cache(maxsize=8)
def _select(model: type[models.Model], quote_key: str) -> tuple[str, list[str]]:
    """Return ``SELECT <every column> FROM <table> WHERE <pk> IN (`` and the attribute
    names in column order (``quote_key`` names the database flavour the SQL is for)."""
    quote = read_connection().ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(quote(str(f.column)) for f in fields)
    pk = quote(str(model._meta.pk.column))
    sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {pk} IN ("  # noqa: S608 - names from the models
    return sql, [f.attname for f in fields]


def _rows(model: type[models.Model], ids: list) -> dict:
    """Return ``model`` instances by primary key, as the ORM loads them."""
    if not ids:
        return {}
    connection = read_connection()
    sql, names = _select(model, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql + ", ".join(["%s"] * len(ids)) + ")", ids)
        rows = cursor.fetchall()
    converters = _converters(connection, model)
    out = {}
    for row in rows:
        values = list(row)
        for index, col, functions in converters:
            for function in functions:
                values[index] = function(values[index], col, connection)
        obj = model.from_db(connection.alias, names, values)
        out[obj.pk] = obj
    return out


_CONVERTERS: WeakKeyDictionary[BaseDatabaseWrapper, dict[type[models.Model], list[Any]]] = (
    WeakKeyDictionary()
)


def _converters(connection: BaseDatabaseWrapper, model: type[models.Model]) -> list[Any]:
    """Return (column index, column, functions) for the columns the ORM's compiler
    converts (SQLite: text to datetimes and booleans; none on PostgreSQL), worked out
    once per connection and model."""
    known = _CONVERTERS.setdefault(connection, {})
    if model not in known:
        columns = [f.get_col(model._meta.db_table) for f in model._meta.concrete_fields]
        ops = connection.ops
        known[model] = [
            (index, col, functions)
            for index, col in enumerate(columns)
            if (functions := ops.get_db_converters(col) + col.get_db_converters(connection))
        ]
    return known[model]


@dataclass
class Shown:
    """What a search page shows: its tickets (with the related objects ``ticket_list``
    selects) and the texts of the messages its snippets are cut from."""

    tickets: dict[int, Ticket]
    bodies: dict[int, tuple[str, str]] = field(default_factory=dict)  # message: text, html
    loaded_bodies: bool = False  # whether ``bodies`` holds every message asked for


def page_shown(ids: list[int], message_ids: Sequence[int] = ()) -> Shown:
    """Return the tickets with these ids, and the bodies of these messages."""
    if read_connection().vendor == "postgresql":
        return _joined(list(ids), list(message_ids))
    return Shown(tickets_shown(ids))


def _related() -> list[models.ForeignKey]:
    out = []
    for name in ticket_list().query.select_related:  # type: ignore[union-attr]
        related = Ticket._meta.get_field(name)
        if isinstance(related, models.ForeignKey):  # select_related follows foreign keys
            out.append(related)
    return out


Shape = tuple[type[models.Model], list[str], "models.ForeignKey | None"]


@lru_cache(maxsize=1)
def _joined_sql() -> tuple[str, list[Shape]]:
    """Return one statement reading the tickets (by ``= ANY``, one text for any number of
    ids: one prepared statement), their related rows (LEFT JOIN by primary key) and the
    messages' bodies (a second branch of a UNION ALL, its ticket columns NULL), and per
    model its attribute names in column order and the foreign key it hangs from."""
    quote = read_connection().ops.quote_name
    parts: list[tuple[type[models.Model], str, models.ForeignKey | None]] = [(Ticket, "t", None)]
    parts += [(f.related_model, f"r{i}", f) for i, f in enumerate(_related())]
    columns: list[str] = []
    nulls: list[str] = []
    joins: list[str] = []
    shapes: list[Shape] = []
    for model, alias, fk in parts:
        fields = model._meta.concrete_fields
        columns += [f"{alias}.{quote(str(f.column))}" for f in fields]
        nulls += ["NULL"] * len(fields)
        shapes.append((model, [f.attname for f in fields], fk))
        if fk is not None:
            joins.append(
                f" LEFT JOIN {quote(model._meta.db_table)} {alias} ON {alias}."
                f"{quote(str(model._meta.pk.column))} = t.{quote(str(fk.column))}"
            )
    sql = (
        f"SELECT {', '.join(columns)}, NULL, NULL, NULL FROM {quote(Ticket._meta.db_table)} t"  # noqa: S608 - names from the models
        f"{''.join(joins)} WHERE t.{quote(str(Ticket._meta.pk.column))} = ANY(%s) UNION ALL "
        f"SELECT {', '.join(nulls)}, m.id, m.body_text, m.body_html "
        f"FROM {quote(Message._meta.db_table)} m WHERE m.id = ANY(%s)"
    )
    return sql, shapes


def _joined(ids: list[int], message_ids: list[int]) -> Shown:
    connection = read_connection()
    sql, shapes = _joined_sql()
    with prepared_reads(), connection.cursor() as cursor:
        cursor.execute(sql, [ids, message_ids])
        rows = cursor.fetchall()
    shown = Shown({}, loaded_bodies=True)
    for row in rows:
        if row[-3] is not None:  # a message's body
            shown.bodies[row[-3]] = (row[-2] or "", row[-1] or "")
            continue
        start, ticket = 0, cast("Ticket | None", None)
        for model, names, fk in shapes:
            values = list(row[start : start + len(names)])
            start += len(names)
            if fk is not None and values[names.index(model._meta.pk.attname)] is None:
                continue  # no such related row (a ticket without an assignee)
            for index, col, functions in _converters(connection, model):
                for function in functions:
                    values[index] = function(values[index], col, connection)
            # The instance ``from_db`` makes, without ``Model.__init__``'s setattr per
            # field (~70 instances a page: ~0.8 ms of the desk's CPU a search).
            obj = made_from_db(model, connection.alias, names, values)
            if fk is None:
                ticket = cast(Ticket, obj)
                shown.tickets[obj.pk] = ticket
            elif ticket is not None:
                fk.set_cached_value(ticket, obj)
    return shown


def tickets_shown(ids: list[int]) -> dict[int, Ticket]:
    """Return the tickets with these ids and the related objects ``ticket_list`` selects
    (account, contact, department, assignee), in one statement per table."""
    tickets = _rows(Ticket, list(ids))
    for name in ticket_list().query.select_related:  # type: ignore[union-attr]
        field = Ticket._meta.get_field(name)
        if not isinstance(field, models.ForeignKey):  # select_related follows foreign keys
            continue
        wanted = {getattr(t, field.attname) for t in tickets.values()} - {None}
        related = _rows(field.related_model, sorted(wanted))
        for ticket in tickets.values():
            value = getattr(ticket, field.attname)
            if value is not None and value in related:
                field.set_cached_value(ticket, related[value])
    return tickets
