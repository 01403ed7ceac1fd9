"""Idempotent delivery: a message's (channel, external id) is stored once.

Email Message-IDs, chat message ids and call ids are unique per channel (a database
constraint backs it). A re-delivery, a repeat within one batch, or a concurrent delivery
that wins the race gets the stored message back (``created`` False) instead of a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.db.models import Field

from .inputs import MessageIn, MessageResult
from .lengths import fit
from .models import Message
from .sql import values_test


def write_new(
    messages: list[MessageIn], write: Callable[[list[int], list[Any]], None]
) -> list[Any]:
    """Answer the items whose message id is already stored with that message, and the
    repeats of an id within the batch from its first item; ``write`` stores the rest
    (their indexes) and fills their results, in one savepoint."""
    results: list[Any] = [None] * len(messages)
    existing = find_external(messages)
    fresh: list[int] = []
    first_of: dict[tuple[str, str], int] = {}
    for index, message in enumerate(messages):
        key = external_key(message)
        if key in existing:
            results[index] = MessageResult(existing[key], created=False)
        elif key is None or key not in first_of:
            if key is not None:
                first_of[key] = index
            fresh.append(index)
    if fresh:
        try:
            with transaction.atomic():
                write(fresh, results)
        except IntegrityError:
            # A concurrent delivery of the same external id won the race: return its result.
            if len(messages) == 1 and (found := find_external(messages)):
                return [MessageResult(next(iter(found.values())), created=False)]
            raise
    for index, message in enumerate(messages):
        if results[index] is None:  # a repeat of an id first seen in this batch
            key = external_key(message)
            assert key is not None  # only a message with an external id repeats one
            first = results[first_of[key]]
            is_message = isinstance(first, MessageResult)
            results[index] = MessageResult(first.message, created=False) if is_message else first
    return results


def fit_external_id(external_id: str | None) -> str | None:
    return None if external_id is None else fit(Message, "external_id", external_id)


def external_key(message: MessageIn) -> tuple[str, str] | None:
    """Return the (channel, external id) a message is stored under, cut to the column."""
    if message.external_id is None:
        return None
    return (message.channel, fit(Message, "external_id", message.external_id))


def find_external(messages: Iterable[MessageIn]) -> dict[tuple[str, str | None], Message]:
    """Return the stored messages with these (channel, external id) pairs, in one query."""
    keys = {key for m in messages if (key := external_key(m)) is not None}
    if not keys:
        return {}
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    stored = _stored_ids(by_channel)
    if not stored:  # the usual answer for new mail: no ORM query built for it
        return {}
    found = Message.objects.select_related("ticket").filter(pk__in=stored)
    return {(m.channel, m.external_id): m for m in found}


def _stored_ids(by_channel: dict[str, list[str]]) -> list[int]:
    """Return the ids of the messages stored under these external ids, per channel.

    A plain statement, one array parameter a channel on PostgreSQL: the ORM's ``IN`` of
    an intake batch's 200 ids prepared every id through the field and the lookup, a
    query built for an answer that is nearly always empty.
    """
    meta = Message._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    channel = quote(str(cast(Field, meta.get_field("channel")).column))
    external = quote(str(cast(Field, meta.get_field("external_id")).column))
    tests: list[str] = []
    params: list[Any] = []
    for name, ids in by_channel.items():
        test, values = values_test(ids, connection.vendor)
        tests.append(f"({channel} = %s AND {external} {test})")
        params += [name, *values]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(str(meta.pk.column))} FROM {table} WHERE "  # noqa: S608 - names from _meta
            + " OR ".join(tests),
            params,
        )
        return [row[0] for row in cursor.fetchall()]
