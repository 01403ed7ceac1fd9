"""SQLite (the embedded demo): FTS5 over ``search_fts`` (rowid = entry id), its
``snippet()`` for highlights, its vocabulary table for typos."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.safestring import SafeString

from supportdesk.db_router import read_connection

from ..indexing import phone_regions
from ..models import Entry
from ..query import ParsedQuery
from ..snippets import START, STOP, identifier_snippet, marked_html, plain_start
from . import TextHit

if TYPE_CHECKING:
    from ..loading import Shown

FTS_CANDIDATES = 2000
_TOKEN = re.compile(r'"[^"]+"|\S+')


def match_expression(query: ParsedQuery) -> str:
    """Return an FTS5 query: the identifier's exact phrases OR-ed, or every word (as a
    prefix: FTS5 does not stem) AND-ed; "quoted phrases" stay phrases."""
    if query.is_identifier:
        phrases = [_phrase(x) for x in query.lexemes]
        return " OR ".join(p for p in phrases if p)
    terms = []
    for token in _TOKEN.findall(query.text):
        if token.startswith('"') and token.endswith('"') and len(token) > 2:
            phrase = _phrase(token[1:-1])
            if phrase:
                terms.append(phrase)
        else:
            words = re.findall(r"\w+", token)
            if words:
                terms.append(_phrase(" ".join(words)) + "*")
    return " AND ".join(terms)


def _phrase(text: str) -> str:
    words = re.findall(r"\w+", text)
    return '"' + " ".join(words) + '"' if words else ""


class SqliteBackend:
    def text_hits(
        self, query: ParsedQuery, tickets: Q, *, notes: bool, limit: int
    ) -> list[TextHit]:
        expression = match_expression(query)
        if not expression:
            return []
        with read_connection().cursor() as cursor:
            cursor.execute(
                "SELECT rowid, bm25(search_fts, 1.0, 2.0) FROM search_fts "
                "WHERE search_fts MATCH %s ORDER BY rowid DESC LIMIT %s",
                [expression, FTS_CANDIDATES],
            )
            ranks = dict(cursor.fetchall())
        entries = Entry.objects.filter(pk__in=list(ranks))
        if not notes:
            entries = entries.exclude(kind="note")
        if tickets:
            from tickets.models import Ticket

            entries = entries.filter(ticket_id__in=Ticket.objects.filter(tickets).values("pk"))
        rows = entries.order_by("-pk").values_list("pk", "ticket_id", "message_id", "kind")
        weight = {"subject": 1.0, "message": 0.6, "note": 0.4}
        return [
            # bm25 is negative, lower is better: turn it into 0..1, weighted by kind.
            TextHit(pk, ticket, message, kind, weight[kind] * _unit(-ranks[pk]))
            for pk, ticket, message, kind in rows[:limit]
        ]

    def partial_ticket_ids(
        self, fragment: str, tickets: Q, *, notes: bool, limit: int
    ) -> list[int]:
        from tickets.models import Ticket

        entries = Entry.objects.exclude(idents="").filter(idents__contains=fragment.lower())
        if not notes:
            entries = entries.exclude(kind="note")
        visible = Ticket.objects.filter(tickets) if tickets else Ticket.objects.all()
        ids = list(
            entries.filter(ticket_id__in=visible.values("pk"))
            .order_by("-pk")
            .values_list("ticket_id", flat=True)[: limit * 3]
        )
        ids += list(
            visible.filter(
                Q(contact__emails__email__contains=fragment.lower())
                | Q(contact__phones__number__contains=fragment)
                | Q(account__reseller_id__icontains=fragment)
            )
            .order_by("-updated_at", "-id")
            .values_list("pk", flat=True)[:limit]
        )
        return list(dict.fromkeys(ids))[:limit]

    def snippets(
        self, hits: list[TextHit], query: ParsedQuery, shown: Shown | None = None
    ) -> dict[int, SafeString]:
        expression = match_expression(query)
        ids = [h.entry_id for h in hits]
        marks = ", ".join(["%s"] * len(ids))
        with read_connection().cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, body, snippet(search_fts, 0, %s, %s, '…', 24) FROM search_fts "  # noqa: S608 - placeholders; values are parameters
                f"WHERE search_fts MATCH %s AND rowid IN ({marks})",
                [START, STOP, expression, *ids],
            )
            rows = cursor.fetchall()
        regions = phone_regions()
        out: dict[int, SafeString] = {}
        for entry_id, body, marked in rows:
            if query.is_identifier and (found := identifier_snippet(body, query, regions)):
                out[entry_id] = marked_html(found)
            else:
                out[entry_id] = marked_html(marked if START in marked else plain_start(body))
        return out

    def recent_only(self, query: ParsedQuery) -> bool:
        return False  # FTS5 reads every match of its index, newest first

    def corrected(self, text: str) -> str:
        words = text.split()
        changed = False
        with read_connection().cursor() as cursor:
            for index, word in enumerate(words):
                plain = word.lower()
                if len(plain) < 4 or not plain.isalpha():
                    continue
                cursor.execute("SELECT 1 FROM search_fts_vocab WHERE term = %s", [plain])
                if cursor.fetchone():
                    continue
                cursor.execute(
                    "SELECT term FROM search_fts_vocab WHERE term >= %s AND term < %s "
                    "ORDER BY doc DESC LIMIT 5000",
                    [plain[0], plain[0] + "\uffff"],
                )
                candidates = [r[0] for r in cursor.fetchall()]
                close = difflib.get_close_matches(plain, candidates, n=1, cutoff=0.75)
                if close:
                    words[index], changed = close[0], True
        return " ".join(words) if changed else ""


def _unit(value: float) -> float:
    return value / (value + 1.0) if value > 0 else 0.0
