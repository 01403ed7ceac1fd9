"""Loading the tickets a search page shows, with what their rows show.

``ticket_list().in_bulk(ids)`` gives the same objects, but compiling its four-way
``select_related`` costs the desk's process ~2 ms a search and planning the five-table
join ~1 ms of PostgreSQL's: a fifth of a search's CPU, which 8 searches on 2 cores
queue for. Here each table is read by its primary key in plain SQL built once per
process, and the related objects are attached the way ``select_related`` attaches them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from supportdesk.db_router import read_connection
from tickets.models import Ticket
from tickets.selectors import ticket_list


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
