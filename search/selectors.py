"""Finding tickets: one selector behind the workspace's box, the API, the portal and the
admin's ticket list.

A query is read every way it can be (``search.query``): ticket numbers, reseller IDs,
contact addresses and phone numbers, domains and names find tickets through the
directory (indexed lookups), and the words find them through the full-text index of
subjects, messages and file names (``search.backends``: PostgreSQL full-text search and
trigrams, or SQLite FTS5). Every reading obeys the same filters and the caller's scope;
the tickets found are merged, ranked and shown with a highlighted snippet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from supportdesk.db_router import on_replica
from tickets.models import Ticket

from . import directory
from .backends import TextHit, text_backend
from .directory import DIRECTORY_TICKETS
from .indexing import phone_regions
from .loading import page_shown
from .query import ParsedQuery, parse_query

PAGE_SIZE = 20
MAX_RESULTS = 200  # nobody pages past this: they add a word or a filter
TEXT_CANDIDATES = 100  # newest matching entries ranked per query (each costs CPU at 8 concurrent)
HAS_LINE = any(f.name == "line" for f in Ticket._meta.get_fields())

# How much each reading weighs: an exact identifier beats any number of words.
WEIGHTS = {
    "number": 1000.0,
    "reseller": 500.0,
    "email": 400.0,
    "phone": 400.0,
    "domain": 300.0,
    "name": 200.0,
    "partial": 100.0,
    "text": 10.0,
}


@dataclass(frozen=True)
class Filters:
    """What the agent narrowed the search to; empty means everything."""

    statuses: tuple[str, ...] = ()
    department_ids: tuple[int, ...] = ()
    line_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_until: datetime | None = None
    assignee_ids: tuple[int, ...] = ()  # 0 means unassigned
    tags: tuple[str, ...] = ()

    def q(self) -> Q:
        """Return these filters as a condition on Ticket."""
        q = Q()
        if self.statuses:
            q &= Q(status__in=self.statuses)
        if self.department_ids:
            q &= Q(department_id__in=self.department_ids)
        if self.line_ids and HAS_LINE:
            q &= Q(line_id__in=self.line_ids)
        if self.channels:
            q &= Q(origin_channel__in=self.channels)
        if self.created_from:
            q &= Q(created_at__gte=self.created_from)
        if self.created_until:
            q &= Q(created_at__lt=self.created_until)
        if self.assignee_ids:
            people = [pk for pk in self.assignee_ids if pk]
            who = Q(assignee_id__in=people) if people else Q(pk__in=[])
            if 0 in self.assignee_ids:
                who |= Q(assignee__isnull=True)
            q &= who
        if self.tags:
            tagged = Ticket.tags.through.objects.filter(
                ticket_id=OuterRef("pk"), tag__name__in=[t.lower() for t in self.tags]
            )
            q &= Q(Exists(tagged))
        return q


@dataclass(frozen=True)
class Scope:
    """Whose tickets a caller may find, and whether internal notes are searched."""

    visible: Q = field(default_factory=Q)
    notes: bool = True


AGENTS = Scope()
INTEGRATIONS = Scope(notes=False)  # the API never shows internal notes


@dataclass
class Hit:
    """One ticket found, with why and where."""

    ticket: Ticket
    score: float
    reasons: list[str]
    snippet: SafeString
    message_id: int | None = None


@dataclass
class SearchPage:
    query: ParsedQuery
    hits: list[Hit]
    page: int
    more: bool
    total: int  # tickets found, at most MAX_RESULTS
    suggestion: str = ""  # the query with typos corrected, when that found more
    recent_only: bool = False  # stop words alone: matched in the newest conversations only


@dataclass
class _Found:
    ticket_id: int
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    text: TextHit | None = None


def query_from(text: str) -> ParsedQuery:
    """Return every reading of ``text`` with the desk's ticket prefix and phone regions."""
    return parse_query(text, prefix=settings.SUPPORTDESK_TICKET_PREFIX, regions=phone_regions())


@on_replica  # search tolerates a few seconds of lag
def ticket_search(
    text: str,
    *,
    filters: Filters = Filters(),  # noqa: B008 - frozen, never mutated
    scope: Scope = AGENTS,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """Return one page of the tickets ``text`` finds in ``scope``, best first."""
    query = query_from(text)
    page = max(1, page)
    if query.is_empty:
        return SearchPage(query, [], page, False, 0)
    tickets = filters.q() & scope.visible
    found = _find(query, tickets, notes=scope.notes)
    suggestion = ""
    if not any(f.text for f in found.values()) and not query.is_identifier:
        corrected = text_backend().corrected(query.text)
        if corrected and corrected != query.text:
            again = _find(query_from(corrected), tickets, notes=scope.notes, text_only=True)
            if again:
                suggestion = corrected
                for ticket_id, item in again.items():
                    found.setdefault(ticket_id, item)
    ranked = sorted(found.values(), key=lambda f: (-f.score, -f.ticket_id))[:MAX_RESULTS]
    start = (page - 1) * page_size
    chosen = ranked[start : start + page_size]
    hits = _hits(chosen, query)
    recent = not query.is_identifier and text_backend().recent_only(query)
    more = len(ranked) > start + page_size
    return SearchPage(query, hits, page, more, len(ranked), suggestion, recent)


@on_replica
def admin_ticket_search(queryset: QuerySet[Ticket], term: str) -> QuerySet[Ticket] | None:
    """Answer the admin ticket list's search box with the same readings (no DISTINCT
    over contact addresses): the tickets found, within the list's own filters."""
    query = query_from(term)
    if query.is_empty:
        return None
    found = _find(query, Q(), notes=True)
    ids = [f.ticket_id for f in sorted(found.values(), key=lambda f: -f.score)][:MAX_RESULTS]
    return queryset.filter(pk__in=ids)


# --- the readings ------------------------------------------------------------------------


def _find(
    query: ParsedQuery, tickets: Q, *, notes: bool, text_only: bool = False
) -> dict[int, _Found]:
    found: dict[int, _Found] = {}

    def add(ids: Sequence[int], reason: str) -> None:
        # Newest first within a reading: a small bonus for the order it came in.
        for position, ticket_id in enumerate(ids):
            score = WEIGHTS[reason] + 1.0 - position / max(len(ids), 1)
            item = found.setdefault(ticket_id, _Found(ticket_id))
            if reason not in item.reasons:
                item.score = max(item.score, score) + (1.0 if item.reasons else 0.0)
                item.reasons.append(reason)

    if not text_only:
        _directory(query, tickets, add)
    backend = text_backend()
    for hit in backend.text_hits(query, tickets, notes=notes, limit=TEXT_CANDIDATES):
        item = found.setdefault(hit.ticket_id, _Found(hit.ticket_id))
        score = WEIGHTS["text"] + hit.rank
        if "text" not in item.reasons:
            item.reasons.append("text")
            item.score = max(item.score, score) + (1.0 if len(item.reasons) > 1 else 0.0)
            item.text = hit
        elif item.text is not None and hit.rank > item.text.rank:
            item.text = hit
    exact = any({"email", "domain"} & set(item.reasons) for item in found.values())
    if query.partial and not text_only and not exact:
        # An address or domain found as written needs no fragment reading: it would read
        # every address's trigrams again (~10 ms of the database's CPU at 100,000
        # contacts) for little more ("roga.exa", no domain of anyone's, still gets one).
        ids = backend.partial_ticket_ids(query.partial, tickets, notes=notes, limit=100)
        add([i for i in ids if i not in found], "partial")
    return found


def _directory(query: ParsedQuery, tickets: Q, add) -> None:
    """Add the tickets found by number, reseller ID, address, phone, domain and name
    (read in one statement: ``directory.read_together``)."""
    base = directory.Tickets(tickets)
    reads: list[tuple[str, directory.Ids | None]] = []
    if query.numbers:
        reads.append(("number", directory.numbered_read(query.numbers, base)))
    if query.reseller_ids:
        accounts = directory.accounts_with_reseller_ids(query.reseller_ids)
        reads.append(("reseller", directory.newest_of_read(base, accounts=accounts)))
    if query.emails:
        contacts = directory.contacts_with_emails(query.emails)
        reads.append(("email", directory.newest_of_read(base, contacts=contacts)))
    if query.phones:
        contacts = directory.contacts_with_phones([f"+{p}" for p in query.phones])
        reads.append(("phone", directory.newest_of_read(base, contacts=contacts)))
    if query.domains and not query.emails:
        contacts = directory.contacts_at_domain(query.domains[0], DIRECTORY_TICKETS)
        reads.append(("domain", directory.newest_of_read(base, contacts=contacts)))
    if not query.is_identifier:
        # Three letters at least: what the trigram index on lower(name) can answer.
        words = [w for w in query.text.lower().split() if len(w) >= 3][:5]
        if words and any(ch.isalpha() for ch in query.text):
            people = directory.named("tickets_contact", words, 50)
            firms = directory.named("tickets_account", words, 20)
            reads.append(("name", directory.newest_of_read(base, contacts=people, accounts=firms)))
    statements = [read for _, read in reads if read is not None]
    found = iter(directory.read_together(statements))
    for reason, read in reads:
        add(next(found) if read is not None else [], reason)


# --- the page ----------------------------------------------------------------------------


def _hits(chosen: list[_Found], query: ParsedQuery) -> list[Hit]:
    if not chosen:
        return []
    text_hits = [f.text for f in chosen if f.text is not None]
    shown = page_shown(
        [f.ticket_id for f in chosen], [h.message_id for h in text_hits if h.message_id]
    )
    tickets = shown.tickets
    snippets = text_backend().snippets(text_hits, query, shown) if text_hits else {}
    hits = []
    for item in chosen:
        ticket = tickets.get(item.ticket_id)
        if ticket is None:  # gone meanwhile
            continue
        if item.text is not None and item.text.entry_id in snippets:
            snippet = snippets[item.text.entry_id]
        else:
            snippet = _reason_snippet(item, ticket, query)
        hits.append(
            Hit(
                ticket=ticket,
                score=item.score,
                reasons=item.reasons,
                snippet=snippet,
                message_id=item.text.message_id if item.text else None,
            )
        )
    return hits


def _reason_snippet(item: _Found, ticket: Ticket, query: ParsedQuery) -> SafeString:
    """Say why a ticket found by the directory is here, the matching part marked."""
    reason = item.reasons[0] if item.reasons else "text"
    contact = str(ticket.contact) if ticket.contact_id else ""
    account = ticket.account.name if ticket.account is not None else ""
    who = f"{contact} ({account})" if contact and account else contact or account
    if reason == "number":
        text = _("Ticket number %(reference)s") % {"reference": ticket.reference}
    elif reason == "reseller":
        text = _("Reseller ID %(id)s · %(account)s") % {
            "id": ticket.account.reseller_id if ticket.account is not None else query.text,
            "account": account,
        }
    elif reason == "partial":
        text = _("Part of an address, phone number or code · %(who)s") % {"who": who}
    else:
        text = _("Contact: %(who)s") % {"who": who}
    return mark_highlight(escape(text), query)


def mark_highlight(escaped: str, query: ParsedQuery) -> SafeString:
    """Mark the query's words in already escaped text (case-insensitive)."""
    words = sorted({w for w in query.text.split() if len(w) >= 2}, key=len, reverse=True)
    if not words:
        return mark_safe(escaped)  # noqa: S308 - escaped by the caller
    pattern = re.compile("|".join(re.escape(escape(w)) for w in words), re.IGNORECASE)
    return mark_safe(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))  # noqa: S308


def database_is_postgres() -> bool:
    return connection.vendor == "postgresql"
