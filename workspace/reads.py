"""What the ticket page reads, one short plain-SQL statement each.

The page is opened all day and reads about fifteen things; built with the ORM, each
query cost ~0.5–2 ms of CPU in compiling and model building (select_related, OR
conditions), more than PostgreSQL spent answering (bench/desk.py). Here rows come from
a cursor, made into model instances as ``Model.objects.raw()`` makes them (with the
backend's own type conversions, so SQLite and PostgreSQL behave alike, but without its
per-call query machinery: ``_instances``), or as plain values. Table and column
names come from the models' metadata; values are always parameters.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import signals
from django.db.models.base import ModelState

from duplicates.models import DuplicateFlag, FlagStatus
from sla.models import BusinessCalendar, SlaAlert, TicketSla
from tickets.models import (
    Attachment,
    Contact,
    ContactEmail,
    ContactPhone,
    Message,
    Tag,
    Ticket,
    TicketEvent,
    format_reference,
)

from .models import Macro, TicketRow
from .view_sql import aware


def _table(model: Any) -> str:
    return f'"{model._meta.db_table}"'


@lru_cache(maxsize=64)
def _reader(
    model: Any, columns: tuple[str, ...], vendor: str
) -> tuple[list[str], list[int], list[tuple[int, Any, Any]]]:
    """Return, for rows of ``model`` with these result columns: the model's field names
    in its own order, where each one is in the row, and the converters to apply (each
    with its column expression), as RawQuerySet would work them out on every call."""
    from django.db.models.expressions import Col

    where = {name: i for i, name in enumerate(columns)}
    fields = [f for f in model._meta.concrete_fields if f.column in where]
    converters = []
    for i, field in enumerate(fields):
        col = Col(model._meta.db_table, field)
        for func in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            converters.append((i, func, col))
    return [f.attname for f in fields], [where[f.column] for f in fields], converters


@lru_cache(maxsize=64)
def _plain_fields(model: Any) -> tuple[str, ...] | None:
    """The attribute names of the model's columns, when its instances can be made
    without ``Model.__init__`` (nothing listens to its init signals); None otherwise.
    Checked once per model and process: receivers connect when the apps load."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return None
    return tuple(f.attname for f in model._meta.concrete_fields)


def made_from_db(model: Any, alias: str, names: list[str], values: list[Any]) -> Any:
    """``model.from_db(alias, names, values)``: for a row of every column, the instance
    ``Model.__init__`` would make (its fields set, its state "from the database") without
    its per-field ``setattr`` and descriptor calls (a page makes ~20 instances; that loop
    was ~4 % of the ticket page's CPU). Deferred columns or init signals: ``from_db``."""
    fields = _plain_fields(model)
    if fields is None or len(names) != len(fields):
        return model.from_db(alias, names, values)
    made = object.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    made.__dict__["_state"] = state
    made.__dict__.update(zip(fields, values, strict=True))
    return made


def _instances(model: Any, sql: str, params: list[Any]) -> list[Any]:
    """Return the model instances of a ``SELECT *``-like statement: what
    ``model.objects.raw()`` gives, without its per-call query machinery."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = tuple(c[0] for c in cursor.description)
        rows = cursor.fetchall()
    names, positions, converters = _reader(model, columns, connection.vendor)
    alias, out = connection.alias, []
    for row in rows:
        values = [row[i] for i in positions]
        for i, func, col in converters:
            values[i] = func(values[i], col, connection)
        out.append(made_from_db(model, alias, names, values))
    return out


def instances_and_extras(
    model: Any, sql: str, params: list[Any]
) -> list[tuple[Any, dict[str, Any]]]:
    """Return, per row, the model instance of its model columns (as ``_instances``) and
    the row's other columns by name, unconverted (``raw()`` sets them as attributes)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = tuple(c[0] for c in cursor.description)
        rows = cursor.fetchall()
    names, positions, converters = _reader(model, columns, connection.vendor)
    taken = set(positions)
    others = [(i, name) for i, name in enumerate(columns) if i not in taken]
    alias, out = connection.alias, []  # each read of the proxy is a context-local look-up
    for row in rows:
        values = [row[i] for i in positions]
        for i, func, col in converters:
            values[i] = func(values[i], col, connection)
        instance = made_from_db(model, alias, names, values)
        out.append((instance, {name: row[i] for i, name in others}))
    return out


def _one(model: Any, pk: int | None) -> Any:
    if pk is None:
        return None
    key = model._meta.pk.column
    found = _instances(model, f'SELECT * FROM {_table(model)} WHERE "{key}" = %s', [pk])  # noqa: S608
    return found[0] if found else None


# The ticket page's ticket and what it shows of its relations, in one statement.
_RELATED = ("department", "line", "contact", "account", "assignee")


@lru_cache(maxsize=8)
def _ticket_parts(vendor: str) -> tuple[str, str, list[tuple[Any, list[str], list[list[Any]]]]]:
    """Return the ticket read's select list (the ticket's columns, then each of
    ``_RELATED``'s, then the version) and its FROM clause (the ticket as ``tk``), and per
    model read (ticket first, then ``_RELATED``) its field names and each column's
    converters (what the ORM's compiler applies)."""
    from django.db.models.expressions import Col

    parts: list[tuple[Any, str]] = [(Ticket, "tk")] + [
        (Ticket._meta.get_field(name).related_model, f"r{i}") for i, name in enumerate(_RELATED)
    ]
    columns, joins, reads = [], [], []
    for model, alias in parts:
        fields = model._meta.concrete_fields
        columns += [f'{alias}."{f.column}"' for f in fields]
        converters = []
        for field in fields:
            col = Col(alias, field)
            converters.append(
                connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            )
        reads.append((model, [f.attname for f in fields], converters))
    for i, name in enumerate(_RELATED):
        fk: Any = Ticket._meta.get_field(name)  # a ForeignKey of _RELATED
        key = fk.related_model._meta.pk.column
        joins.append(
            f'LEFT JOIN {_table(fk.related_model)} r{i} ON r{i}."{key}" = tk."{fk.column}"'
        )
    version = f'(SELECT MAX("id") FROM {_table(TicketEvent)} WHERE "ticket_id" = tk."id")'  # noqa: S608
    listed = f"{', '.join(columns)}, {version}"
    return listed, f"FROM {_table(Ticket)} tk {' '.join(joins)}", reads


def _ticket_read(vendor: str) -> tuple[str, list[tuple[Any, list[str], list[list[Any]]]]]:
    """Return the ticket's statement (by number) and its models' reads (``_ticket_parts``)."""
    listed, tables, reads = _ticket_parts(vendor)
    return f'SELECT {listed} {tables} WHERE tk."number" = %s', reads  # noqa: S608


def ticket_by_number(number: int) -> Ticket | None:
    """Return the ticket with its contact, account, department, line and assignee set,
    and its version (``ticket.desk_version``: tickets.services.ticket_version, read in
    the same statement)."""
    sql, reads = _ticket_read(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [number])
        row = cursor.fetchone()
    if row is None:
        return None
    return _ticket_of_row(row, reads)


def _ticket_of_row(row: Any, reads: list[tuple[Any, list[str], list[list[Any]]]]) -> Ticket:
    """The ticket of a row of ``_ticket_parts``' select list, its relations in its cache."""
    made: list[Any] = []
    at = 0
    alias = connection.alias  # each read of the proxy is a context-local look-up
    for model, names, converters in reads:
        values = list(row[at : at + len(names)])
        at += len(names)
        if values[names.index(model._meta.pk.attname)] is None:
            made.append(None)  # no such relation (LEFT JOIN)
            continue
        for i, funcs in enumerate(converters):
            for func in funcs:
                values[i] = func(values[i], None, connection)
        made.append(made_from_db(model, alias, names, values))
    ticket = made[0]
    # The related objects into the ticket's cache, as assigning them would put them (the
    # descriptor's checks and key copying are moot: they were read by the ticket's keys).
    cache = ticket._state.fields_cache
    for name, related in zip(_RELATED, made[1:], strict=True):
        cache[name] = related
    ticket.desk_version = row[at] or 0
    return ticket


def messages_with_attachments(ticket: Ticket) -> tuple[list[Message], dict[int, list[Attachment]]]:
    """Return the ticket's messages, oldest first, and their attachments by message."""
    messages = _instances(
        Message,
        f"SELECT * FROM {_table(Message)} WHERE ticket_id = %s "  # noqa: S608
        "ORDER BY occurred_at, id",
        [ticket.pk],
    )
    attachments: dict[int, list[Attachment]] = defaultdict(list)
    if messages:
        found = _instances(
            Attachment,
            f"SELECT a.* FROM {_table(Attachment)} a JOIN {_table(Message)} m "  # noqa: S608
            "ON m.id = a.message_id WHERE m.ticket_id = %s ORDER BY a.id",
            [ticket.pk],
        )
        for attachment in found:
            attachments[attachment.message_id].append(attachment)
    return messages, attachments


def contact_names(ids: Iterable[int]) -> dict[int, str]:
    """Return the display names of these contacts."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    return {
        c.pk: str(c)
        for c in _instances(
            Contact,
            f"SELECT * FROM {_table(Contact)} WHERE id IN ({marks})",  # noqa: S608
            ids,
        )
    }


def events(ticket: Ticket, kinds: Iterable[str]) -> list[TicketEvent]:
    kinds = sorted(kinds)
    marks = ", ".join(["%s"] * len(kinds))
    return _instances(
        TicketEvent,
        f"SELECT * FROM {_table(TicketEvent)} WHERE ticket_id = %s "  # noqa: S608
        f"AND kind IN ({marks}) ORDER BY created_at, id",
        [ticket.pk, *kinds],
    )


def sla_alerts(ticket: Ticket) -> list[SlaAlert]:
    return _instances(
        SlaAlert,
        f"SELECT * FROM {_table(SlaAlert)} WHERE ticket_id = %s "  # noqa: S608
        "ORDER BY created_at, id",
        [ticket.pk],
    )


def ticket_sla(ticket: Ticket) -> TicketSla | None:
    """Return the ticket's SLA clocks with their calendar (one statement: a join)."""
    slas = [str(f.column) for f in TicketSla._meta.concrete_fields]
    calendars = [str(f.column) for f in BusinessCalendar._meta.concrete_fields]
    listed = ", ".join([*(f's."{c}"' for c in slas), *(f'c."{c}"' for c in calendars)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {listed} FROM {_table(TicketSla)} s LEFT JOIN "  # noqa: S608
            f"{_table(BusinessCalendar)} c ON c.id = s.calendar_id WHERE s.ticket_id = %s",
            [ticket.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(slas)
    sla = _instance(TicketSla, tuple(slas), row[:n])
    sla.calendar = (
        None if sla.calendar_id is None else _instance(BusinessCalendar, tuple(calendars), row[n:])
    )
    return sla


def _instance(model: Any, columns: tuple[str, ...], row: tuple[Any, ...]) -> Any:
    """The model instance of one row (as ``_instances``) whose columns are named apart."""
    names, positions, converters = _reader(model, columns, connection.vendor)
    values = [row[i] for i in positions]
    for i, func, col in converters:
        values[i] = func(values[i], col, connection)
    return made_from_db(model, connection.alias, names, values)


def _unsolved_statuses() -> str:
    """``AND status IN (…)`` of the statuses a read-model row is unsolved in: redundant
    with ``unsolved`` (workspace.rows sets both from the ticket's status), it lets a
    contact's unsolved rows be found in ``ws_row_contact`` (contact, status) rather than
    every row of the contact read and filtered (a contact has ~45 rows at 1M, ~2 unsolved:
    55 → 20 buffers). Literals, so a prepared statement's generic plan uses it too."""
    from .rows import UNSOLVED_STATUSES

    listed = ", ".join(f"'{s.value}'" for s in sorted(UNSOLVED_STATUSES))
    return f"AND status IN ({listed})"


@dataclass(frozen=True)
class OtherTicket:
    number: int
    subject: str
    sla_due: datetime | None


def other_open_tickets(ticket: Ticket, limit: int) -> list[OtherTicket]:
    """Return the contact's other unsolved tickets, soonest deadline first."""
    if ticket.contact_id is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT number, subject, sla_due FROM {_table(TicketRow)} "  # noqa: S608
            f"WHERE contact_id = %s AND unsolved {_unsolved_statuses()} AND ticket_id <> %s "
            f"ORDER BY due_sort, ticket_id LIMIT {int(limit)}",
            [ticket.contact_id, ticket.pk],
        )
        return [OtherTicket(n, s, aware(d)) for n, s, d in cursor.fetchall()]


@dataclass(frozen=True)
class FlagView:
    """A suggested duplicate flag as the panel shows it, from this ticket's side."""

    flag_id: int
    score: float
    side: str  # "of" (this one may duplicate the other) or "by"
    other_number: int
    other_subject: str
    same_account: bool

    @property
    def other_reference(self) -> str:
        return format_reference(self.other_number)


def duplicate_flags(ticket: Ticket, limit: int) -> list[FlagView]:
    """Return the suggested flags naming this ticket on either side, best score first."""
    tickets = _table(Ticket)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.id, f.score, f.ticket_id, t.number, t.subject, t.account_id, "  # noqa: S608
            f"c.number, c.subject, c.account_id FROM {_table(DuplicateFlag)} f "
            f"JOIN {tickets} t ON t.id = f.ticket_id JOIN {tickets} c ON c.id = f.candidate_id "
            "WHERE (f.ticket_id = %s OR f.candidate_id = %s) AND f.status = %s "
            f"ORDER BY f.score DESC, f.id DESC LIMIT {int(limit)}",
            [ticket.pk, ticket.pk, FlagStatus.SUGGESTED.value],
        )
        return [_flag_view(ticket, *row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class PanelLists:
    """The short lists of the ticket page's header and panel, read in one statement."""

    emails: list[str]  # the contact's, primary first
    phones: list[str]
    follow_ups: list[int]  # numbers of the tickets that follow this one up, the first 10
    tags: list[str]  # by name


def panel_lists(ticket: Ticket, follow_ups: int) -> PanelLists:
    """Return the contact's addresses, the follow-ups' numbers and the tags: one
    statement (each list was its own, three round trips of every ticket page)."""
    through = Ticket.tags.through
    contact = ticket.contact_id if ticket.contact_id is not None else 0  # 0: no rows
    sql = (
        "SELECT 'e', email, row_number() OVER (ORDER BY NOT is_primary, id) "  # noqa: S608
        f"FROM {_table(ContactEmail)} WHERE contact_id = %s "
        "UNION ALL SELECT 'p', number, row_number() OVER (ORDER BY id) "
        f"FROM {_table(ContactPhone)} WHERE contact_id = %s "
        "UNION ALL SELECT * FROM (SELECT 'f', CAST(number AS TEXT), "
        f"row_number() OVER (ORDER BY number) FROM {_table(Ticket)} WHERE linked_to_id = %s "
        f"ORDER BY number LIMIT {int(follow_ups)}) f "
        "UNION ALL SELECT 't', tg.name, row_number() OVER (ORDER BY tg.name) "
        f"FROM {_table(Tag)} tg JOIN {_table(through)} tt ON tt.tag_id = tg.id "
        "WHERE tt.ticket_id = %s"
    )
    lists: dict[str, list[tuple[int, str]]] = {"e": [], "p": [], "f": [], "t": []}
    with connection.cursor() as cursor:
        cursor.execute(sql, [contact, contact, ticket.pk, ticket.pk])
        for kind, text, order in cursor.fetchall():
            lists[kind].append((order, text))
    emails, phones, numbers, tags = ([t for _o, t in sorted(v)] for v in lists.values())
    return PanelLists(emails, phones, [int(n) for n in numbers], tags)


# --- the ticket page's reads in one statement --------------------------------------------
# Each statement a page sends costs ~50 µs of PostgreSQL CPU and ~100 µs of Python (the
# driver, Django's cursor and the prepared-statement wrapper) before it reads a row, and
# the page made ten after the ticket's own (bench/README.md, twelfth round). On PostgreSQL
# they are one statement: each part is a JSON value of the one row it returns (``json_agg``
# of the same rows in the same order as the part's statement had), decoded once and made
# into the same model instances and values. Other databases run the parts one by one.


@dataclass
class PageReads:
    """What the ticket page reads about its ticket besides the ticket itself."""

    agents: list[tuple[int, str]]
    departments: list[tuple[int, str]]
    messages: list[Message]
    attachments: dict[int, list[Attachment]]
    events: list[TicketEvent]
    alerts: list[SlaAlert]
    lists: PanelLists
    others: list[OtherTicket]
    sla: TicketSla | None
    flags: list[FlagView]
    macros: list[Macro]
    live_chat: bool  # a chat of the ticket (or of one merged into it) is going on


def page_reads(
    ticket: Ticket, *, event_kinds: Iterable[str], others: int, flags: int, follow_ups: int
) -> PageReads:
    """Return everything the ticket page reads about ``ticket``: one statement on
    PostgreSQL, each part's own statement elsewhere."""
    kinds = tuple(sorted(event_kinds))
    if connection.vendor != "postgresql":
        return _page_reads_one_by_one(ticket, kinds, others, flags, follow_ups)
    sql = _page_sql(kinds, int(others), int(flags), int(follow_ups))
    contact = ticket.contact_id if ticket.contact_id is not None else 0  # 0: no rows
    pk: int = ticket.pk
    params: list[int | str | None] = [
        *(pk, pk),  # messages, attachments
        pk,  # events, of these kinds:
        *kinds,
        pk,  # SLA alerts
        *(contact, contact, pk, pk),  # addresses, phones, follow-ups, tags
        *(contact, pk),  # other open tickets
        pk,  # SLA clocks
        *(pk, pk),  # duplicate flags
        ticket.line_id,  # macros
        *(pk, pk),  # live chat
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        row = cursor.fetchone()
    return _page_reads_of(ticket, row[0])


def ticket_page_reads(
    number: int, *, event_kinds: Iterable[str], others: int, flags: int, follow_ups: int
) -> tuple[Ticket, PageReads] | None:
    """Return the ticket with ``number`` (as ``ticket_by_number``) and what its page reads
    (as ``page_reads``), or None if there is no such ticket: on PostgreSQL one statement,
    the page's parts taking the ticket's keys from its row rather than from a first
    round trip (each statement costs ~50 µs of PostgreSQL and ~150 µs of Python before
    it reads a row); the version and the timeline come from the same snapshot."""
    kinds = tuple(sorted(event_kinds))
    if connection.vendor != "postgresql":
        ticket = ticket_by_number(number)
        if ticket is None:
            return None
        return ticket, _page_reads_one_by_one(ticket, kinds, others, flags, follow_ups)
    listed, tables, ticket_reads = _ticket_parts(connection.vendor)
    page = _page_sql(
        kinds,
        int(others),
        int(flags),
        int(follow_ups),
        pk='tk."id"',
        contact='tk."contact_id"',  # NULL: no rows, as 0 is in page_reads
        line='tk."line_id"',
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {listed}, {page} {tables} WHERE tk."number" = %s',  # noqa: S608
            [*kinds, number],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    ticket = _ticket_of_row(row[:-1], ticket_reads)
    return ticket, _page_reads_of(ticket, row[-1])


def _page_reads_of(ticket: Ticket, text: str) -> PageReads:
    """The ``PageReads`` of the page statement's JSON array (``_page_sql``)."""
    (
        choices,
        messages,
        attachments,
        events,
        alerts,
        lists,
        other_rows,
        sla,
        flag_rows,
        macros,
        live_chat,
    ) = json.loads(text)
    agents: list[tuple[int, str]] = []
    departments: list[tuple[int, str]] = []
    for part, name, choice, first, last in choices or ():
        if part == 0:
            agents.append((choice, f"{first} {last}".strip() or name))
        else:
            departments.append((choice, name))
    by_message: dict[int, list[Attachment]] = defaultdict(list)
    for attachment in _from_json(Attachment, attachments):
        by_message[attachment.message_id].append(attachment)
    found: dict[str, list[tuple[int, str]]] = {"e": [], "p": [], "f": [], "t": []}
    for kind, text_, order in lists or ():
        found[kind].append((order, text_))
    emails, phones, numbers, tags = ([t for _o, t in sorted(v)] for v in found.values())
    ticket_sla = None
    if sla is not None:
        ticket_sla = _from_json(TicketSla, [sla[0]])[0]
        ticket_sla.calendar = None if sla[1] is None else _from_json(BusinessCalendar, [sla[1]])[0]
    return PageReads(
        agents=agents,
        departments=departments,
        messages=_from_json(Message, messages),
        attachments=by_message,
        events=_from_json(TicketEvent, events),
        alerts=_from_json(SlaAlert, alerts),
        lists=PanelLists(emails, phones, [int(n) for n in numbers], tags),
        others=[OtherTicket(n, s, _datetime(d)) for n, s, d in other_rows or ()],
        sla=ticket_sla,
        flags=[_flag_view(ticket, *r) for r in flag_rows or ()],
        macros=_from_json(Macro, macros),
        live_chat=bool(live_chat),
    )


def _page_reads_one_by_one(
    ticket: Ticket, kinds: tuple[str, ...], others: int, flags: int, follow_ups: int
) -> PageReads:
    from .choices import agent_and_department_choices
    from .composer import has_live_chat

    agents, departments = agent_and_department_choices()
    messages, attachments = messages_with_attachments(ticket)
    line_id = ticket.line_id
    macros = _instances(
        Macro,
        f'SELECT * FROM "{Macro._meta.db_table}" WHERE "is_active" '  # noqa: S608
        'AND ("line_id" IS NULL OR "line_id" = %s) ORDER BY "id"',
        [line_id],
    )
    return PageReads(
        agents=agents,
        departments=departments,
        messages=messages,
        attachments=attachments,
        events=events(ticket, kinds),
        alerts=sla_alerts(ticket),
        lists=panel_lists(ticket, follow_ups),
        others=other_open_tickets(ticket, others),
        sla=ticket_sla(ticket),
        flags=duplicate_flags(ticket, flags),
        macros=macros,
        live_chat=has_live_chat(ticket),
    )


@lru_cache(maxsize=8)
def _page_sql(
    kinds: tuple[str, ...],
    others: int,
    flags: int,
    follow_ups: int,
    *,
    pk: str = "%s",
    contact: str = "%s",
    line: str = "%s",
) -> str:
    """The page's select list: one JSON array of every part, as text. The ticket's id,
    contact and line are ``pk``, ``contact`` and ``line``: parameters (``page_reads``
    gives them in the order of the parts) or the columns of a ticket row the statement
    reads (``ticket_page_reads``); the event kinds are parameters."""
    from channels_app.chat.models import ChatConversation

    from .choices import AGENTS_AND_DEPARTMENTS_SQL

    marks = ", ".join(["%s"] * len(kinds))
    tickets, messages = _table(Ticket), _table(Message)
    chats = _table(ChatConversation)
    # The panel's short lists, as panel_lists reads them.
    through = Ticket.tags.through
    lists = (
        "SELECT 'e', email, row_number() OVER (ORDER BY NOT is_primary, id) "  # noqa: S608
        f"FROM {_table(ContactEmail)} WHERE contact_id = {contact} "
        "UNION ALL SELECT 'p', number, row_number() OVER (ORDER BY id) "
        f"FROM {_table(ContactPhone)} WHERE contact_id = {contact} "
        "UNION ALL SELECT * FROM (SELECT 'f', CAST(number AS TEXT), "
        f"row_number() OVER (ORDER BY number) FROM {tickets} WHERE linked_to_id = {pk} "
        f"ORDER BY number LIMIT {follow_ups}) f "
        "UNION ALL SELECT 't', tg.name, row_number() OVER (ORDER BY tg.name) "
        f"FROM {_table(Tag)} tg JOIN {_table(through)} tt ON tt.tag_id = tg.id "
        f"WHERE tt.ticket_id = {pk}"
    )
    parts = [
        # The agents' and departments' selects, in the order of AGENTS_AND_DEPARTMENTS_SQL.
        "(SELECT json_agg(json_build_array(x.p, x.n, x.i, x.f, x.l) ORDER BY x.p, x.n, x.i) "  # noqa: S608
        f"FROM ({AGENTS_AND_DEPARTMENTS_SQL.split(' ORDER BY ')[0]}) x(p, n, i, f, l))",
        f"(SELECT json_agg(m ORDER BY m.occurred_at, m.id) FROM {messages} m "  # noqa: S608
        f"WHERE m.ticket_id = {pk})",
        f"(SELECT json_agg(a ORDER BY a.id) FROM {_table(Attachment)} a "  # noqa: S608
        f"JOIN {messages} m ON m.id = a.message_id WHERE m.ticket_id = {pk})",
        f"(SELECT json_agg(e ORDER BY e.created_at, e.id) FROM {_table(TicketEvent)} e "  # noqa: S608
        f"WHERE e.ticket_id = {pk} AND e.kind IN ({marks}))",
        f"(SELECT json_agg(s ORDER BY s.created_at, s.id) FROM {_table(SlaAlert)} s "  # noqa: S608
        f"WHERE s.ticket_id = {pk})",
        f"(SELECT json_agg(json_build_array(l.k, l.x, l.o)) FROM ({lists}) l(k, x, o))",  # noqa: S608
        "(SELECT json_agg(json_build_array(o.number, o.subject, o.sla_due) "  # noqa: S608
        "ORDER BY o.due_sort, o.ticket_id) FROM (SELECT number, subject, sla_due, due_sort, "
        f"ticket_id FROM {_table(TicketRow)} WHERE contact_id = {contact} AND unsolved "
        f"{_unsolved_statuses()} AND ticket_id <> {pk} "
        f"ORDER BY due_sort, ticket_id LIMIT {others}) o)",
        "(SELECT json_build_array(row_to_json(s), row_to_json(c)) "  # noqa: S608
        f"FROM {_table(TicketSla)} s LEFT JOIN {_table(BusinessCalendar)} c "
        f"ON c.id = s.calendar_id WHERE s.ticket_id = {pk})",
        "(SELECT json_agg(json_build_array(f.id, f.score, f.ticket_id, f.tn, f.ts, f.ta, "  # noqa: S608
        "f.cn, f.cs, f.ca) ORDER BY f.score DESC, f.id DESC) FROM (SELECT f.id, f.score, "
        "f.ticket_id, t.number AS tn, t.subject AS ts, t.account_id AS ta, c.number AS cn, "
        f"c.subject AS cs, c.account_id AS ca FROM {_table(DuplicateFlag)} f "
        f"JOIN {tickets} t ON t.id = f.ticket_id JOIN {tickets} c ON c.id = f.candidate_id "
        f"WHERE (f.ticket_id = {pk} OR f.candidate_id = {pk}) "
        f"AND f.status = '{FlagStatus.SUGGESTED.value}' "
        f"ORDER BY f.score DESC, f.id DESC LIMIT {flags}) f)",
        f"(SELECT json_agg(m ORDER BY m.id) FROM {_table(Macro)} m "  # noqa: S608
        f'WHERE m."is_active" AND (m."line_id" IS NULL OR m."line_id" = {line}))',
        # composer.LIVE_CHAT_SQL's question.
        f"(EXISTS (SELECT 1 FROM {chats} c WHERE c.ticket_id = {pk} AND c.ended_at IS NULL) "  # noqa: S608
        f"OR EXISTS (SELECT 1 FROM {tickets} t JOIN {chats} c ON c.ticket_id = t.id "
        f"WHERE t.merged_into_id = {pk} AND c.ended_at IS NULL))",
    ]
    return f"CAST(json_build_array({', '.join(parts)}) AS TEXT)"


def _flag_view(
    ticket: Ticket,
    pk: int,
    score: float,
    of_id: int,
    t_number: int,
    t_subject: str,
    t_account: int | None,
    c_number: int,
    c_subject: str,
    c_account: int | None,
) -> FlagView:
    mine = of_id == ticket.pk
    return FlagView(
        pk,
        score,
        "of" if mine else "by",
        c_number if mine else t_number,
        c_subject if mine else t_subject,
        t_account == c_account,
    )


def _datetime(value: str | None) -> datetime | None:
    """A ``timestamptz`` as PostgreSQL writes it in JSON (ISO 8601, the session's UTC)."""
    return None if value is None else datetime.fromisoformat(value)


@lru_cache(maxsize=32)
def _json_fields(model: Any) -> tuple[list[str], list[tuple[str, Any]]]:
    """The model's field names, and per field its JSON key (the column) and how its
    JSON value becomes the value the ORM reads (None: as it is; a JSONField's value is
    the decoded JSON already)."""
    names, keys = [], []
    for field in model._meta.concrete_fields:
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            convert: Any = _datetime
        elif kind in (
            "DateField",
            "TimeField",
            "DurationField",
            "DecimalField",
            "UUIDField",
            "BinaryField",
        ):
            raise TypeError(f"{model.__name__}.{field.name}: no JSON reading for {kind}")
        else:
            convert = None
        names.append(field.attname)
        keys.append((field.column, convert))
    return names, keys


def _from_json(model: Any, rows: list[dict[str, Any]] | None) -> list[Any]:
    """Model instances of rows PostgreSQL wrote as JSON objects (``row_to_json``)."""
    if not rows:
        return []
    names, keys = _json_fields(model)
    alias = connection.alias
    out = []
    for row in rows:
        values = [row[key] if convert is None else convert(row[key]) for key, convert in keys]
        out.append(made_from_db(model, alias, names, values))
    return out
