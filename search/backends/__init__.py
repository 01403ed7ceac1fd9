"""Full-text search behind one interface: PostgreSQL (full-text search and trigrams) or
SQLite (FTS5), chosen by the database the desk runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.db import connection
from django.db.models import Q
from django.utils.safestring import SafeString

from ..query import ParsedQuery

if TYPE_CHECKING:
    from ..loading import Shown


@dataclass(frozen=True)
class TextHit:
    """An index entry the words matched."""

    entry_id: int
    ticket_id: int
    message_id: int | None
    kind: str
    rank: float  # 0..1, higher is better
    config: str = ""  # the entry's text search configuration, when the backend knows it


class TextBackend(Protocol):
    def text_hits(
        self, query: ParsedQuery, tickets: Q, *, notes: bool, limit: int
    ) -> list[TextHit]:
        """Return the newest ``limit`` entries matching the query, of tickets matching
        ``tickets`` (notes only if ``notes``), each with its rank."""

    def partial_ticket_ids(
        self, fragment: str, tickets: Q, *, notes: bool, limit: int
    ) -> list[int]:
        """Return tickets (newest first) with an identifier containing ``fragment``."""

    def snippets(
        self, hits: list[TextHit], query: ParsedQuery, shown: Shown | None = None
    ) -> dict[int, SafeString]:
        """Return a highlighted snippet per entry id (``shown``: the page's tickets and
        message bodies, when already read)."""

    def recent_only(self, query: ParsedQuery) -> bool:
        """Whether the query's words are looked for among the newest entries only (words
        too common to look for everywhere): the page says so."""

    def corrected(self, text: str) -> str:
        """Return ``text`` with words the index does not hold replaced by the closest
        words it holds ("" when nothing was replaced)."""


def text_backend() -> TextBackend:
    """Return the backend of the default database."""
    if connection.vendor == "postgresql":
        from .postgres import PostgresBackend

        return PostgresBackend()
    from .sqlite import SqliteBackend

    return SqliteBackend()
