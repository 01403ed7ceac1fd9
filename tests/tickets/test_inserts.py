"""tickets.inserts.insert_new: the intake's multi-row inserts store what bulk_create stores."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.inserts import build, insert_new, insert_rows
from tickets.models import Channel, Direction, EventKind, Message, Severity, Ticket, TicketEvent

from ..factories import open_ticket

pytestmark = pytest.mark.django_db


def _columns(obj: Any) -> dict[str, Any]:
    row = type(obj).objects.filter(pk=obj.pk).values().get()
    row.pop("id")
    return row


def _messages(ticket: Ticket, tag: str) -> list[Message]:
    naive = datetime(2026, 3, 1, 9, 30)  # noqa: DTZ001 - a naive value is converted as Django does
    return [
        Message(
            ticket=ticket,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            body_text=f"body {tag} {i} ünïcödé",
            body_html="" if i % 2 else "<p>x</p>",
            occurred_at=timezone.now() - timedelta(minutes=i) if i % 2 else naive,
            received_at=timezone.now(),
            external_id=None if i == 2 else f"<{tag}{i}@example.com>",
            metadata={"from": "a@example.com", "nested": {"list": [1, "two", None]}, "i": i},
        )
        for i in range(4)
    ]


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_rows_are_those_bulk_create_stores(departments):
    """Messages (JSON, text, a naive and aware datetimes, a NULL), tickets and events
    inserted by insert_new read back column for column as bulk_create's copies do."""
    ticket = open_ticket(subject="inserts")
    ours = insert_new(_messages(ticket, "a"))
    theirs = Message.objects.bulk_create(_messages(ticket, "b"))
    assert all(m.pk is not None and not m._state.adding for m in ours)
    for mine, other in zip(ours, theirs, strict=True):
        a, b = _columns(mine), _columns(other)
        assert a["body_text"].replace(" a ", " b ") == b["body_text"]
        assert (a["external_id"] or "").replace("<a", "<b") == (b["external_id"] or "")
        for name in ("body_text", "external_id", "received_at", "occurred_at"):
            a.pop(name), b.pop(name)
        assert a == b
    assert [m.occurred_at for m in ours][::2] == [m.occurred_at for m in theirs][::2]

    events = [
        TicketEvent(ticket=ticket, kind=kind, actor=None, data={"message": m.pk, "k": kind})
        for kind, m in zip((EventKind.CREATED, EventKind.MESSAGE_ADDED), ours[:2], strict=True)
    ]
    copies = [TicketEvent(ticket=ticket, kind=e.kind, actor=None, data=e.data) for e in events]
    insert_new(events)
    TicketEvent.objects.bulk_create(copies)
    for mine, other in zip(events, copies, strict=True):
        a, b = _columns(mine), _columns(other)
        a.pop("created_at"), b.pop("created_at")
        assert a == b

    number = Ticket.objects.order_by("-number").values_list("number", flat=True).first() or 0
    template = Ticket.objects.get(pk=ticket.pk)
    fields = {
        "subject": "copy",
        "department_id": template.department_id,
        "line_id": template.line_id,
        "severity": Severity.S2,
        "origin_channel": Channel.EMAIL,
        "language": "en",
    }
    mine_t = insert_new([Ticket(number=number + 1, **fields)])[0]
    other_t = Ticket.objects.bulk_create([Ticket(number=number + 2, **fields)])[0]
    a, b = _columns(mine_t), _columns(other_t)
    assert (a.pop("number"), b.pop("number")) == (number + 1, number + 2)
    a.pop("created_at"), b.pop("created_at"), a.pop("updated_at"), b.pop("updated_at")
    assert a == b


def test_many_rows_go_in_one_statement_each_and_keep_their_order(departments):
    """A batch's messages are one INSERT, and each instance gets its own row's id."""
    ticket = open_ticket(subject="order")
    rows = [
        Message(
            ticket=ticket,
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text=f"note {i}",
            occurred_at=timezone.now(),
            metadata={"i": i},
        )
        for i in range(250)
    ]
    with CaptureQueriesContext(connection) as queries:
        insert_new(rows)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    # One statement is PostgreSQL's path; other databases take bulk_create's (SQLite's
    # parameter limit splits it), and the rows must come back in order either way.
    if connection.vendor == "postgresql":
        assert len(inserts) == 1
    stored = dict(
        Message.objects.filter(pk__in=[m.pk for m in rows]).values_list("pk", "body_text")
    )
    assert [stored[m.pk] for m in rows] == [f"note {i}" for i in range(250)]


def test_rows_without_instances_store_what_bulk_create_stores(departments, agent):
    """insert_rows (a batch's events, written as plain values) stores each row as
    bulk_create stores the same values as instances, in order, with its own id."""
    ticket = open_ticket(subject="rows")
    now = timezone.now()
    values = [
        {
            "ticket_id": ticket.pk,
            "kind": kind,
            "actor_id": agent.pk if i % 2 else None,
            "data": {"message": i, "nested": {"list": [1, "two", None]}, "text": "ünï"},
            "created_at": now + timedelta(microseconds=i),
        }
        for i, kind in enumerate([EventKind.CREATED, EventKind.MESSAGE_ADDED] * 3)
    ]
    ids = insert_rows(TicketEvent, values)
    copies = TicketEvent.objects.bulk_create([TicketEvent(**v) for v in values])
    assert len(set(ids)) == len(values)
    for pk, copy, value in zip(ids, copies, values, strict=True):
        mine, theirs = _columns(TicketEvent(pk=pk)), _columns(copy)
        assert mine == theirs
        assert mine["data"] == value["data"] and mine["created_at"] == value["created_at"]
    assert insert_rows(TicketEvent, []) == []


def _state_of(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An instance's field values and its cached related objects (by identity)."""
    values = {k: v for k, v in vars(obj).items() if k != "_state"}
    cached = {k: id(v) for k, v in obj._state.fields_cache.items()}
    return values, cached


@given(
    text=st.text(max_size=30),
    external=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    with_contact=st.booleans(),
    with_account=st.booleans(),
    linked=st.booleans(),
    severity=st.sampled_from([s.value for s in Severity]),
    verify=st.booleans(),
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_build_makes_the_instance_keyword_arguments_make(
    departments, anna, text, external, with_contact, with_account, linked, severity, verify
):
    """build(model, values, related) equals model(**values, **related): the same field
    values (defaults included) and the same related objects cached, for tickets and
    messages with and without their optional relations."""
    department = departments["technical-support"]
    now = timezone.now()
    contact = anna if with_contact else None
    account = anna.account if with_account else None
    other = Ticket(pk=7, subject="other") if linked else None
    values = {
        "number": 41,
        "subject": text or "subject",
        "severity": severity,
        "language": "en",
        "origin_channel": Channel.EMAIL,
        "needs_verification": verify,
        "created_at": now,
        "updated_at": now,
    }
    related = {
        "department": department,
        "account": account,
        "contact": contact,
        "line": department.line,
        "linked_to": other,
    }
    ticket = build(Ticket, values, related)
    assert _state_of(ticket) == _state_of(Ticket(**values, **related))
    assert ticket.department is department and ticket.linked_to is other
    message_values = {
        "channel": Channel.EMAIL,
        "direction": Direction.INBOUND,
        "body_text": text,
        "body_html": "",
        "occurred_at": now,
        "received_at": now,
        "external_id": external,
        "metadata": {"from": text},
    }
    message_related = {"ticket": ticket, "author_contact": contact, "author_user": None}
    message = build(Message, message_values, message_related)
    expected = Message(**message_values, **message_related)
    assert _state_of(message) == _state_of(expected)
    assert message.ticket is ticket and message._state.adding and message._state.db is None


def test_stored_messages_are_found_by_channel_and_external_id(departments):
    """find_external's plain statement finds what the ORM's per-channel IN finds: the
    stored (channel, external id) pairs asked for, not the same id on another channel,
    nothing for ids never stored, and nothing (no ORM query) when none is stored."""
    from django.db.models import Q

    from tickets.idempotency import find_external
    from tickets.inputs import MessageIn

    ticket = open_ticket(subject="ids")
    stored = insert_new(
        [
            Message(
                ticket=ticket,
                channel=channel,
                direction=Direction.INBOUND,
                body_text="x",
                external_id=external,
                metadata={},
                occurred_at=timezone.now(),
                received_at=timezone.now(),
            )
            for channel, external in [
                (Channel.EMAIL, "<a@x>"),
                (Channel.EMAIL, "<b@x>"),
                (Channel.CHAT, "<a@x>"),
                (Channel.CHAT, "c-1"),
            ]
        ]
    )
    asked = [
        MessageIn(channel=c, direction=Direction.INBOUND, body_text="x", external_id=e)
        for c, e in [
            (Channel.EMAIL, "<a@x>"),
            (Channel.CHAT, "c-1"),
            (Channel.EMAIL, "c-1"),
            (Channel.PHONE, "<a@x>"),
            (Channel.EMAIL, "<new@x>"),
            (Channel.EMAIL, None),
        ]
    ]
    orm = Message.objects.filter(
        Q(channel=Channel.EMAIL, external_id__in=["<a@x>", "c-1", "<new@x>"])
        | Q(channel=Channel.CHAT, external_id__in=["c-1"])
        | Q(channel=Channel.PHONE, external_id__in=["<a@x>"])
    )
    found = find_external(asked)
    assert {k: m.pk for k, m in found.items()} == {(m.channel, m.external_id): m.pk for m in orm}
    assert set(found) == {(Channel.EMAIL, "<a@x>"), (Channel.CHAT, "c-1")}
    assert found[(Channel.CHAT, "c-1")].ticket == ticket and stored
    with CaptureQueriesContext(connection) as queries:
        assert find_external(asked[4:]) == {}
    assert len(queries) == 1
    # Threading's lookup of referenced ids: the same answer as the ORM's IN.
    from tickets.selectors import ticket_ids_by_external_ids

    referenced = ["<a@x>", "<b@x>", "c-1", "<new@x>"]
    for channel in (Channel.EMAIL, Channel.CHAT, Channel.PHONE):
        orm_ids = dict(
            Message.objects.filter(channel=channel, external_id__in=referenced).values_list(
                "external_id", "ticket_id"
            )
        )
        assert ticket_ids_by_external_ids(channel, referenced) == orm_ids
    assert ticket_ids_by_external_ids(Channel.EMAIL, referenced) == {
        "<a@x>": ticket.pk,
        "<b@x>": ticket.pk,
    }
    assert ticket_ids_by_external_ids(Channel.EMAIL, []) == {}


# PostgreSQL's jsonb refuses \u0000 (either way of sending it).
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(_chars, max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(_chars, max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    data=st.dictionaries(st.text(_chars, max_size=6), _json, max_size=4),
    items=st.lists(_json, max_size=3),
)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_json_columns_store_what_the_fields_own_preparation_stores(departments, data, items):
    """A dict or list goes to a JSON column as json.dumps text (cast by its placeholder):
    the stored value reads back as bulk_create's copy does (nested values, unicode,
    floats, JSON null inside); other values keep the field's own preparation."""
    ticket = open_ticket(subject="json")
    now = timezone.now()

    def events() -> list[TicketEvent]:
        return [
            TicketEvent(ticket=ticket, kind=EventKind.CREATED, data=value, created_at=now)
            for value in (data, items, {"x": items})
        ]

    ours, theirs = insert_new(events()), TicketEvent.objects.bulk_create(events())
    read = dict(
        TicketEvent.objects.filter(pk__in=[e.pk for e in ours + theirs]).values_list("pk", "data")
    )
    assert [read[e.pk] for e in ours] == [read[e.pk] for e in theirs]
