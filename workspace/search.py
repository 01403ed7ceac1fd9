"""Search what customers wrote: the subjects and the inbound messages of every ticket.

On PostgreSQL the words are matched with full-text search (``simple`` configuration: no
stemming, so Russian, Dutch, Spanish and English text all match word for word) on two
expression indexes (``workspace.search_indexes``), newest first and bounded; the embedded
SQLite database of a small desk uses a plain substring match. Every ticket is found
(agents see every ticket in the workspace); merged tickets point to where they went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from tickets.models import Direction, Message, Ticket

from .view_sql import aware

RESULTS = 50  # tickets shown
SCANNED = 400  # newest matching messages read to find them
QUERY_CHARS = 200
SNIPPET_CHARS = 160

MESSAGES = Message._meta.db_table
TICKETS = Ticket._meta.db_table
# The expressions must read exactly as in the indexes for PostgreSQL to use them.
PG_MESSAGES_SQL = (
    f'SELECT "ticket_id", "body_text", "occurred_at" FROM "{MESSAGES}" '  # noqa: S608
    'WHERE "direction" = %s AND to_tsvector(\'simple\'::regconfig, "body_text") '
    "@@ plainto_tsquery('simple'::regconfig, %s) ORDER BY \"id\" DESC LIMIT %s"
)
PG_SUBJECTS_SQL = (
    f'SELECT "id" FROM "{TICKETS}" WHERE to_tsvector(\'simple\'::regconfig, "subject") '  # noqa: S608
    "@@ plainto_tsquery('simple'::regconfig, %s) ORDER BY \"id\" DESC LIMIT %s"
)
LIKE_MESSAGES_SQL = (
    f'SELECT "ticket_id", "body_text", "occurred_at" FROM "{MESSAGES}" '  # noqa: S608
    'WHERE "direction" = %s AND "body_text" LIKE %s ESCAPE \'\\\' ORDER BY "id" DESC LIMIT %s'
)
LIKE_SUBJECTS_SQL = (
    f'SELECT "id" FROM "{TICKETS}" WHERE "subject" LIKE %s ESCAPE \'\\\' '  # noqa: S608
    'ORDER BY "id" DESC LIMIT %s'
)
TICKETS_SQL = (
    'SELECT "id", "number", "subject", "status", "merged_into_id" '  # noqa: S608
    f'FROM "{TICKETS}" WHERE "id" IN '
)


@dataclass(frozen=True)
class Hit:
    """A ticket found, with where the words were found."""

    number: int
    subject: str
    status: str
    snippet: str  # from the newest matching message ("" when the subject matched)
    written_at: datetime | None
    merged_into_id: int | None


def search_customer_text(query: str) -> list[Hit]:
    """Return the tickets whose subject or customers' messages contain the words of
    ``query``, newest first, at most ``RESULTS``."""
    query = " ".join(query.split())[:QUERY_CHARS]
    if not query:
        return []
    found: dict[int, tuple[str, datetime | None]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_MESSAGES_SQL, [Direction.INBOUND, query, SCANNED])
            messages = cursor.fetchall()
            cursor.execute(PG_SUBJECTS_SQL, [query, RESULTS])
        else:
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query) + "%"
            cursor.execute(LIKE_MESSAGES_SQL, [Direction.INBOUND, pattern, SCANNED])
            messages = cursor.fetchall()
            cursor.execute(LIKE_SUBJECTS_SQL, [pattern, RESULTS])
        subjects = [row[0] for row in cursor.fetchall()]
        for ticket_id, body, written_at in messages:
            if ticket_id not in found:
                found[ticket_id] = (snippet(body, query), aware(written_at))
        for ticket_id in subjects:
            found.setdefault(ticket_id, ("", None))
        ids = list(found)[:RESULTS]
        if not ids:
            return []
        cursor.execute(TICKETS_SQL + "(" + ", ".join(["%s"] * len(ids)) + ")", ids)
        tickets = {row[0]: row[1:] for row in cursor.fetchall()}
    return [
        Hit(tickets[pk][0], tickets[pk][1], tickets[pk][2], *found[pk], tickets[pk][3])
        for pk in ids
        if pk in tickets
    ]


def snippet(body: str, query: str) -> str:
    """Return the part of ``body`` around the first word of ``query`` found in it."""
    text = " ".join((body or "").split())
    lowered = text.lower()
    at = min((i for w in query.lower().split() if (i := lowered.find(w)) >= 0), default=0)
    start = max(0, at - SNIPPET_CHARS // 3)
    part = text[start : start + SNIPPET_CHARS]
    return ("…" if start else "") + part + ("…" if start + SNIPPET_CHARS < len(text) else "")
