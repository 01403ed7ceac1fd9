"""Insert new model instances in one multi-row ``INSERT … RETURNING id`` a chunk.

The intake inserts every mail's ticket, message and events. ``bulk_create`` sends each
value of each row through the field's whole preparation (``pre_save``, ``get_db_prep_save``
and the compiler's expression checks, through the thread-local ``connection`` proxy): a
sixth of an import's CPU went there. The rows here are plain values our own code built,
so only the values that need converting are converted (JSON, a naive datetime, a
non-string in a text column), with the connection itself. Same rows, same primary keys
set on the instances; other databases than PostgreSQL use ``bulk_create``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, models

M = TypeVar("M", bound=models.Model)
# Rows a statement (PostgreSQL takes up to 65,535 parameters: ~20 columns a row).
CHUNK = 1000
_Prep = Callable[[Any, Any], Any] | None


def insert_new(objs: Sequence[M]) -> list[M]:
    """Insert ``objs`` (new instances of one model, without primary keys); set their pks."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    sql_head, sql_tail, fields, row_marks = _plan(model)
    for start in range(0, len(objs), CHUNK):
        chunk = objs[start : start + CHUNK]
        params: list[Any] = []
        for obj in chunk:
            for attname, prep in fields:
                value = getattr(obj, attname)
                params.append(value if prep is None else prep(value, db))
        with db.cursor() as cursor:
            cursor.execute(
                f"{sql_head} VALUES {', '.join([row_marks] * len(chunk))} {sql_tail}",
                params,
            )
            ids = [row[0] for row in cursor.fetchall()]
        # PostgreSQL returns the rows of INSERT … VALUES in the order given (bulk_create
        # relies on the same).
        for obj, pk in zip(chunk, ids, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = DEFAULT_DB_ALIAS
    return objs


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (each a value for every column but the primary key, by attribute
    name) into ``model``'s table; return their new primary keys, in order.

    For rows that are only written (a batch's ticket events): no model instance is built
    for each (``Model.__init__`` sets every field, defaults and descriptors included).
    Other databases than PostgreSQL build the instances and use ``bulk_create``.
    """
    if not rows:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return [obj.pk for obj in model._default_manager.bulk_create([model(**r) for r in rows])]
    sql_head, sql_tail, fields, row_marks = _plan(model)
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params: list[Any] = []
        for row in chunk:
            for attname, prep in fields:
                value = row[attname]
                params.append(value if prep is None else prep(value, db))
        with db.cursor() as cursor:
            cursor.execute(
                f"{sql_head} VALUES {', '.join([row_marks] * len(chunk))} {sql_tail}",
                params,
            )
            ids += [row[0] for row in cursor.fetchall()]  # in the order given (see above)
    return ids


def build(
    model: type[M], values: Mapping[str, Any], related: Mapping[str, models.Model | None]
) -> M:
    """Return the new instance ``model(**values, **related)`` would build, built faster.

    ``values`` by attribute name (``ticket_id``, not ``ticket``), ``related`` the related
    objects by field name: their ids are set and the objects cached, as the model's
    keyword arguments do; every other field takes its default. Django's ``__init__`` with
    keyword arguments looks each field up by name and attribute name and sets related
    objects through their descriptors, three times the cost of the positional form the
    ORM itself uses to build a row it read (~50 µs a message in an intake).
    """
    args: list[Any] = []
    for attname, name, target, default in _fields_of(model):
        if attname in values:
            args.append(values[attname])
        elif name in related:
            obj = related[name]
            args.append(None if obj is None else getattr(obj, target))
        else:
            args.append(default())
    instance = model(*args)
    cache_names = _cache_names(model)
    cached = instance._state.fields_cache
    for name, obj in related.items():
        cached[cache_names[name]] = obj  # what the field's set_cached_value does
    return instance


@cache
def _fields_of(model: type[models.Model]) -> list[tuple[str, str, str, Callable[[], Any]]]:
    """Each concrete field's attribute, name, the attribute its related object gives its
    value from (foreign keys), and its default."""
    return [
        (
            f.attname,
            f.name,
            cast(Any, f).target_field.attname if f.is_relation else "",
            f.get_default,
        )
        for f in model._meta.concrete_fields
    ]


@cache
def _cache_names(model: type[models.Model]) -> dict[str, str]:
    return {f.name: cast(Any, f).cache_name for f in model._meta.concrete_fields if f.is_relation}


@cache
def _plan(model: type[models.Model]) -> tuple[str, str, list[tuple[str, _Prep]], str]:
    """The statement's head and tail, per column the attribute and how its value is
    prepared, and a row's placeholders (a JSON column's typed: its value is JSON text)."""
    meta = model._meta
    pk: Any = meta.pk
    fields: list[Any] = [f for f in meta.concrete_fields if not f.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise ValueError(f"{model.__name__}.{field.name}: pre_save would set it")
        if isinstance(field, models.FileField):
            raise ValueError(f"{model.__name__}.{field.name}: a file is saved by pre_save")
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns})"  # names from _meta
    marks = ", ".join(_mark(f) for f in fields)
    plan = [(f.attname, _prep_for(f)) for f in fields]
    return head, f"RETURNING {quote(pk.column)}", plan, f"({marks})"


def _mark(field: Any) -> str:
    """A column's placeholder: typed where its value goes as text (JSON, a datetime)."""
    if isinstance(field, models.JSONField) and field.encoder is None:
        return "%s::jsonb"
    if isinstance(field, models.DateTimeField):
        return "%s::timestamptz"
    return "%s"


def _prep_for(field: Any) -> _Prep:
    prepare = field.get_db_prep_save
    if isinstance(field, models.ForeignKey | models.BooleanField | models.IntegerField):
        return None  # ids, flags and numbers go to the driver as they are
    if isinstance(field, models.DateTimeField):

        def aware(value: Any, db: Any) -> Any:
            # An aware datetime goes as the ISO text psycopg2's adapter would write for it
            # (the very literal, which the placeholder casts): 3.0 µs where the adapter took 4.2.
            if isinstance(value, datetime) and value.tzinfo is not None:
                return value.isoformat()
            return value if value is None else prepare(value, db)

        return aware
    if isinstance(field, models.CharField | models.TextField):

        def text(value: Any, db: Any) -> Any:
            return value if value is None or isinstance(value, str) else prepare(value, db)

        return text
    if isinstance(field, models.JSONField) and field.encoder is None:

        def json_text(value: Any, db: Any) -> Any:
            # The text the field's adapter would send (json.dumps, no encoder), without
            # the adapter object and its Python-level quoting (~8 µs a value, an intake
            # has three or four a mail); the placeholder casts it. None (SQL NULL) and
            # anything but a dict or list take the field's own way.
            if isinstance(value, dict | list):
                return json.dumps(value)
            return prepare(value, db)

        return json_text
    return prepare  # anything else: the field's own preparation
