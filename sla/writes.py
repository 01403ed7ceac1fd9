"""The statements that write ``TicketSla`` rows: one INSERT or UPDATE for up to
``WRITE_CHUNK`` rows (Django's bulk_update builds a CASE per row and field, and saving row
by row is a round trip each).

On PostgreSQL a prepared value whose SQL text is fixed by its type (NULL, a bool, an int,
an aware datetime) is written into the statement as psycopg2 itself would write it
(``_literal``): psycopg2's adaptation took ~1.5 us an int or bool and ~4 us a datetime,
~15 of them a row. Text and JSON stay parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

from .models import TicketSla

WRITE_CHUNK = 200  # SLA rows per statement (SQLite allows 32,766 parameters a statement)


def insert_rows(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert the computed rows of tickets that had none (each row: every field's value by
    its attname, e.g. ``vars(ticket_sla)``), one statement per ``WRITE_CHUNK``; return the
    tickets whose row another transaction inserted first (``ON CONFLICT DO NOTHING``: the
    insert waits for that one to commit)."""
    if not rows:
        return []
    meta = TicketSla._meta
    quote = connection.ops.quote_name
    fields: list[Any] = list(meta.concrete_fields)
    columns = ", ".join(quote(f.column) for f in fields)
    pk_field: Any = meta.pk
    key = quote(pk_field.column)
    inserted: set[int] = set()
    db = _db()
    prepare = _preparers(fields, db)
    for start in range(0, len(rows), WRITE_CHUNK):
        chunk = rows[start : start + WRITE_CHUNK]
        values, params = _values(
            [[row[f.attname] for f, _ in prepare] for row in chunk], prepare, db
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}",  # names from _meta
                params,
            )
            inserted.update(pk for (pk,) in cursor.fetchall())
    key_name = pk_field.attname
    return [row[key_name] for row in rows if row[key_name] not in inserted]


def update_rows(rows: Sequence[TicketSla], names: list[str]) -> None:
    """Write these fields of the rows, one statement per ``WRITE_CHUNK`` rows."""
    meta = TicketSla._meta
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    key: Any = meta.pk
    fields: list[Any] = [meta.get_field(name) for name in names]
    table, columns = quote(meta.db_table), [quote(f.column) for f in (key, *fields)]
    # VALUES guesses a column's type from its values (text for NULLs): cast to the field's.
    assignments = ", ".join(
        f"{quote(f.column)} = v.{quote(f.column)}"
        + (f"::{f.cast_db_type(connection)}" if postgres else "")
        for f in fields
    )
    db = _db()
    prepare = _preparers([key, *fields], db)
    for start in range(0, len(rows), WRITE_CHUNK):
        chunk = rows[start : start + WRITE_CHUNK]
        values, params = _values(
            [[row.pk, *(getattr(row, f.attname) for f, _ in prepare[1:])] for row in chunk],
            prepare,
            db,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH v({', '.join(columns)}) AS (VALUES {values}) "  # noqa: S608 - names
                f"UPDATE {table} SET {assignments} FROM v "  # from _meta, values as params
                f"WHERE {table}.{columns[0]} = v.{columns[0]}",
                params,
            )


# The field types whose ``get_db_prep_save`` hands PostgreSQL a value of this exact type
# over unchanged (an aware datetime, text, a bool, an int): passed as they are, they skip
# Django's chain of a few calls a field (~20 fields a row, ~0.1 ms a row).
_PLAIN_TYPES: dict[str, type] = {
    "DateTimeField": datetime,
    "CharField": str,
    "BooleanField": bool,
    "PositiveIntegerField": int,
    "BigIntegerField": int,
}


def _preparers(fields: list[Any], db: Any) -> list[tuple[Any, Any]]:
    """Each field with a test of whether a value goes to the database as it is."""
    postgres = db.vendor == "postgresql"

    def plain_test(kind: type | None) -> Any:
        if not postgres or kind is None:
            return lambda value: False  # a JSON null, a foreign key: the field's own way
        if kind is datetime:  # a naive one is made aware (with a warning) by the field
            return lambda value: (
                value is None or (type(value) is datetime and value.tzinfo is not None)
            )
        return lambda value: value is None or type(value) is kind

    return [(f, plain_test(_PLAIN_TYPES.get(f.get_internal_type()))) for f in fields]


def _db() -> Any:
    """The default connection itself: ``django.db.connection`` is a proxy that looks the
    connection up (thread-local) on every attribute a field's ``get_db_prep_save`` reads,
    ~20 fields a row: a fifth of writing a batch's SLA rows."""
    return connections[DEFAULT_DB_ALIAS]


def _values(
    rows: list[list[Any]], prepare: list[tuple[Any, Any]], db: Any
) -> tuple[str, list[Any]]:
    """The VALUES list of the rows (each a value per field of ``prepare``) and its
    parameters: each value as its field prepares it (as it is where that changes nothing),
    written in where its text is fixed by its type (``_literal``), else passed."""
    postgres = db.vendor == "postgresql"
    tuples: list[str] = []
    params: list[Any] = []
    for row in rows:
        cells: list[str] = []
        for (f, plain), value in zip(prepare, row, strict=True):
            prepared = value if plain(value) else f.get_db_prep_save(value, db)
            if postgres and (text := _literal(prepared)) is not None:
                cells.append(text)
            else:
                cells.append("%s")
                params.append(prepared)
        tuples.append("(" + ", ".join(cells) + ")")
    return ", ".join(tuples), params


def _literal(value: Any) -> str | None:
    """The SQL text psycopg2 writes for ``value`` (no quote or percent sign in it), or
    None for a value it has to quote (text): NULL, true/false, an int, an aware datetime."""
    kind = type(value)
    if value is None:
        return "NULL"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:  # a negative one after a space: "- -1" is never read as a comment
        return f" {value}" if value < 0 else str(value)
    if kind is datetime and value.tzinfo is not None:
        return f"'{value.isoformat()}'::timestamptz"
    return None
