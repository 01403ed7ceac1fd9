"""The directory's readings of a query (ticket numbers, reseller IDs, addresses, phone
numbers, domains, names) as plain SQL.

Each of them is a small indexed lookup; built through the ORM, compiling it cost more
of the desk's CPU than PostgreSQL spent answering it (~0.7 ms a statement, 3–5 of them
per identifier search). The statements here are the ones the ORM wrote, on both
databases (``connection.operators`` gives each one's LIKE), with the caller's filters
compiled once per search.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import Q

from supportdesk.db_router import read_connection
from tickets.models import Ticket

DIRECTORY_TICKETS = 200  # tickets taken per contact/account reading, newest first
NEWEST = 'ORDER BY "updated_at" DESC, "id" DESC'  # Ticket.Meta.ordering


class Tickets:
    """A condition on ``tickets_ticket`` (the filters and the caller's scope), compiled
    once: the SQL to add after ``WHERE …`` and its parameters."""

    def __init__(self, tickets: Q) -> None:
        self.none = False
        self.sql, self.params = "", []
        if not tickets:
            return
        query = Ticket.objects.filter(tickets).query
        compiler = query.get_compiler(connection=read_connection())
        try:
            where, params = compiler.compile(query.where)
        except EmptyResultSet:
            self.none = True
            return
        except FullResultSet:
            return
        if len(query.alias_map) > 1:  # a join to another table: ask for the ids instead
            sub, params = Ticket.objects.filter(tickets).values("pk").query.sql_with_params()
            where = f'"tickets_ticket"."id" IN ({sub})'
        self.sql, self.params = f" AND ({where})", list(params)


def _in(column: str, values: Sequence[Any]) -> str:
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _read(sql: str, params: Sequence[Any]) -> list:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, list(params))
        return [row[0] for row in cursor.fetchall()]


def numbered_read(numbers: Sequence[int], tickets: Tickets) -> Ids | None:
    """Select the tickets with these numbers (newest first); None when none can be."""
    if not numbers or tickets.none:
        return None
    where = _in('"number"', numbers)
    return (
        f'SELECT "id", "updated_at" FROM "tickets_ticket" WHERE {where}{tickets.sql} {NEWEST}',  # noqa: S608 - placeholders only
        [*numbers, *tickets.params],
    )


Ids = tuple[str, list[Any]]  # a statement selecting ids, and its parameters


def newest_of_read(
    tickets: Tickets,
    *,
    contacts: Ids | None = None,
    accounts: Ids | None = None,
    limit: int = DIRECTORY_TICKETS,
) -> Ids | None:
    """Select the newest tickets of the contacts or accounts these statements select
    (None when none can be). PostgreSQL reads the ids first (``= ANY(ARRAY(…))`` is
    evaluated before the scan, and planned as a few ids): given them as a subquery it
    may walk every ticket newest first looking for theirs, seconds at 1,000,000 tickets
    when they have none."""
    if (contacts is None and accounts is None) or tickets.none:
        return None
    postgres = read_connection().vendor == "postgresql"
    which, params = [], []
    for column, ids in (('"contact_id"', contacts), ('"account_id"', accounts)):
        if ids is not None:
            which.append(
                f"{column} = ANY(ARRAY({ids[0]}))" if postgres else f"{column} IN ({ids[0]})"
            )
            params += ids[1]
    where = which[0] if len(which) == 1 else f"({which[0]} OR {which[1]})"
    sql = f'SELECT "id", "updated_at" FROM "tickets_ticket" WHERE {where}{tickets.sql}'  # noqa: S608 - placeholders only
    return f"{sql} {NEWEST} LIMIT %s", [*params, *tickets.params, limit]


def read_together(reads: Sequence[Ids]) -> list[list[int]]:
    """Return each statement's tickets (``numbered_read``, ``newest_of_read``), newest
    first: on PostgreSQL in one statement, a UNION ALL of them each tagged (a number or
    phone number is read as a ticket number, a reseller ID and a phone number at once:
    three round trips, each waiting for a core at 8 searches on 2 cores). Each keeps
    its own ORDER BY and LIMIT inside; the order is restored here by the same keys."""
    if len(reads) < 2 or read_connection().vendor != "postgresql":
        return [_read(sql, params) for sql, params in reads]
    parts, params = [], []
    for index, (sql, values) in enumerate(reads):
        parts.append(f"SELECT {index}, x.* FROM ({sql}) x")  # noqa: S608 - our statements
        params += values
    with read_connection().cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    out: list[list[int]] = [[] for _ in reads]
    for index, ticket_id, _updated in sorted(rows, key=lambda r: (r[2], r[1]), reverse=True):
        out[index].append(ticket_id)
    return out


def accounts_with_reseller_ids(reseller_ids: Sequence[str]) -> Ids:
    where = _in('"reseller_id"', reseller_ids)
    return f'SELECT "id" FROM "tickets_account" WHERE {where}', list(reseller_ids)  # noqa: S608 - placeholders only


def contacts_with_emails(emails: Sequence[str]) -> Ids:
    where = _in('"email"', emails)
    return f'SELECT "contact_id" FROM "tickets_contactemail" WHERE {where}', list(emails)  # noqa: S608 - placeholders only


def contacts_with_phones(numbers: Sequence[str]) -> Ids:
    where = _in('"number"', numbers)
    return f'SELECT "contact_id" FROM "tickets_contactphone" WHERE {where}', list(numbers)  # noqa: S608 - placeholders only


def contacts_at_domain(domain: str, limit: int) -> Ids:
    """Select contacts with an address at ``domain`` (PostgreSQL reads them from an index
    of the part after the "@", search migration 0003; SQLite's desks are small)."""
    connection = read_connection()
    if connection.vendor == "postgresql":
        sql = (
            'SELECT "contact_id" FROM "tickets_contactemail" '
            'WHERE split_part("email", %s, %s) = %s LIMIT %s'
        )
        return sql, ["@", 2, domain, limit]
    like = connection.operators["endswith"] % "%s"  # type: ignore[attr-defined]
    pattern = "%" + connection.ops.prep_for_like_query(f"@{domain}")
    return (
        f'SELECT "contact_id" FROM "tickets_contactemail" WHERE "email" {like} LIMIT %s',  # noqa: S608 - the backend's own LIKE
        [pattern, limit],
    )


def named(table: str, words: Sequence[str], limit: int) -> Ids:
    """Select ids of ``table`` rows (contacts, accounts) whose lower-cased name contains
    every word (the trigram index on lower(name) answers it on PostgreSQL)."""
    connection = read_connection()
    name = connection.ops.lookup_cast("contains", "CharField") % 'LOWER("name")'
    like = connection.operators["contains"] % "%s"  # type: ignore[attr-defined]
    where = " AND ".join([f"{name} {like}"] * len(words))
    patterns = [f"%{connection.ops.prep_for_like_query(w)}%" for w in words]
    return f'SELECT "id" FROM "{table}" WHERE {where} LIMIT %s', [*patterns, limit]  # noqa: S608 - fixed names
