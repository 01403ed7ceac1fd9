"""Parts of the ticket page made without Django's per-request machinery: they must show
what that machinery showed (the composer of a page opened afresh, translated choices)."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.factories import open_ticket
from tickets.models import Status, Ticket
from workspace import choices, composer, ticket_html
from workspace.forms import FreshReply, ReplyForm
from workspace.models import AgentProfile

pytestmark = pytest.mark.django_db(transaction=True)


def _page_statements(desk, ticket: Ticket, *needles: str) -> tuple[str, list[str]]:
    """Render the ticket's page a second time (the first warms the per-process memos);
    return its HTML and the statements that named any of ``needles``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    desk.get(f"/desk/t/{ticket.number}/")
    with CaptureQueriesContext(connection) as captured:
        html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    statements = [q["sql"] for q in captured.captured_queries]
    return html, [sql for sql in statements if any(n in sql for n in needles)]


def _composer(ticket: Ticket, form: object, channels: list) -> str:
    context = {
        "ticket": ticket,
        "csrf_token": "token",
        "version": 7,
        "channels": channels,
        "macros": [],
        "reply_form": form,
    }
    return ticket_html.composer_html(context)


def test_a_fresh_composer_is_the_unbound_reply_form(departments, anna, desk_agent):
    ticket = open_ticket(subject="Composer", contact=anna, channel="portal")
    for status in (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER):
        Ticket.objects.filter(pk=ticket.pk).update(status=status)
        ticket = Ticket.objects.get(pk=ticket.pk)
        channels = composer.reply_channels(ticket)
        for signature in ("", "-- Alice, Support"):
            profile, _ = AgentProfile.objects.update_or_create(
                user=desk_agent, defaults={"signature": signature}
            )
            for language in ("en", "ru"):
                with translation.override(language):
                    fresh = FreshReply(ticket=ticket, profile=profile, channels=channels)
                    form = ReplyForm(ticket=ticket, profile=profile, channels=channels)
                    html = _composer(ticket, fresh, channels)
                    assert html == _composer(ticket, form, channels), (status, signature)
                assert ('id="id_signature" checked' in html) == bool(signature)


def test_translated_choices_follow_the_active_language(db):
    with translation.override("ru"):
        ru = dict(choices.status_choices())
        severities = dict(choices.severity_choices())
    with translation.override("en"):
        en = dict(choices.status_choices())
        only = choices.status_choices([Status.OPEN, Status.SOLVED])
    assert (ru[Status.OPEN], en[Status.OPEN]) == ("Открыта", "Open")
    assert severities[1] == "К1 критическая"
    assert Status.MERGED not in en
    assert only == [(Status.OPEN, "Open"), (Status.SOLVED, "Solved")]
    only.append(("x", "y"))  # a caller's list is its own
    with translation.override("en"):
        assert choices.status_choices([Status.OPEN, Status.SOLVED]) == only[:2]


def test_the_panels_short_lists_come_in_one_statement_in_order(desk, departments, anna):
    from tickets.models import ContactEmail, ContactPhone, Tag

    ticket = open_ticket(subject="Lists", contact=anna)
    ContactEmail.objects.filter(contact=anna).update(is_primary=False)
    ContactEmail.objects.create(contact=anna, email="zz-primary@northwind.example", is_primary=True)
    ContactPhone.objects.create(contact=anna, number="+31200000002")
    ContactPhone.objects.create(contact=anna, number="+31200000001")
    ticket.tags.add(*(Tag.objects.create(name=n) for n in ("zeta", "alpha", "mid")))
    follow_ups = [open_ticket(subject=f"Again {i}", contact=anna) for i in range(12)]
    Ticket.objects.filter(pk__in=[t.pk for t in follow_ups]).update(linked_to=ticket)
    needles = ("contactemail", "contactphone", "WHERE linked_to_id", "_tags")
    html, lists = _page_statements(desk, ticket, *needles)
    assert len(lists) == 1, lists  # addresses, phones, follow-ups and tags: one statement
    customer = html.split('id="customer"')[1].split("</section>")[0]
    assert customer.index("zz-primary@northwind.example") < customer.index("anna@northwind.example")
    assert customer.index("+31200000002") < customer.index("+31200000001")  # as entered
    head = html.split('class="ticket-head"')[1].split("</header>")[0]
    assert [t.split("<")[0] for t in head.split('<span class="tag">')[1:]] == [
        "alpha",
        "mid",
        "zeta",
    ]
    shown = [int(p.split("/desk/t/")[1].split("/")[0]) for p in html.split("Follow-up: ")[1:]]
    assert shown == sorted(t.number for t in follow_ups)[:10]


def test_the_keep_status_choice_follows_the_language_and_the_status(departments, anna):
    from workspace.forms import status_after_choices

    ticket = open_ticket(subject="Keep", contact=anna)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.OPEN)
    ticket = Ticket.objects.get(pk=ticket.pk)
    with translation.override("ru"):
        assert status_after_choices(ticket)[0] == ("", "(оставить «Открыта»)")
    with translation.override("en"):
        assert status_after_choices(ticket)[0] == ("", "(keep Open)")
        ticket.status = Status.PENDING_CUSTOMER
        keep, *others = status_after_choices(ticket)
    assert keep == ("", "(keep Pending customer)")
    assert Status.PENDING_CUSTOMER not in dict(others) and Status.OPEN in dict(others)


def test_the_sla_clocks_and_their_calendar_come_in_one_statement(desk, departments, presets, anna):
    from sla.services import ticket_sla_recompute

    ticket = open_ticket(subject="Deadlines", contact=anna)
    sla = ticket_sla_recompute(ticket.pk)
    assert sla is not None and sla.calendar is not None
    html, reads = _page_statements(desk, ticket, "sla_ticketsla", "sla_businesscalendar")
    assert len(reads) == 1, reads
    assert "business time left" in html.split('id="sla"')[1].split("</section>")[0]
    from sla.models import BusinessCalendar, TicketSla
    from workspace.reads import ticket_sla

    got, want = ticket_sla(ticket), TicketSla.objects.select_related("calendar").get(pk=sla.pk)
    for model, a, b in ((TicketSla, got, want), (BusinessCalendar, got.calendar, want.calendar)):
        fields = model._meta.concrete_fields
        assert [getattr(a, f.attname) for f in fields] == [getattr(b, f.attname) for f in fields]


def test_the_panels_markup_helpers_escape_and_truncate_as_the_templates_did():
    """countdown, options, ``_e`` and the subject truncation are written without Django's
    format_html / Truncator on their common path; their markup stays the templates'."""
    from datetime import UTC, datetime, timedelta

    from django.utils import timezone
    from django.utils.safestring import mark_safe

    from workspace.templatetags.workspace_tags import countdown, options

    picks = options([(7, "A & B"), ('x"<y', "<i>")], 7)
    assert picks == (
        '<option value="7" selected>A &amp; B</option>'
        '<option value="x&quot;&lt;y">&lt;i&gt;</option>'
    )
    assert options([('x"<y', "q")], 'x"<y') == '<option value="x&quot;&lt;y" selected>q</option>'
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        late = countdown(now - timedelta(hours=1, minutes=5), now)
        soon = countdown(now + timedelta(minutes=7), now)
    assert late == (
        '<time class="due overdue" datetime="2026-03-02T07:55:00+00:00" '
        'title="2026-03-02 08:55 (Europe/Paris)" data-due="1772438100">1h 05m overdue</time>'
    )
    assert soon.startswith('<time class="due soon" ') and soon.endswith(">in 7m</time>")
    assert countdown(None, now) == '<span class="due none">–</span>'
    assert ticket_html._e('a<"b"&') == "a&lt;&quot;b&quot;&amp;"
    assert ticket_html._e(mark_safe("<b>x</b>")) == "<b>x</b>"
    assert ticket_html._e(None) == "None"
    decomposed = "Cafe\u0301 " + "x" * 40
    assert ticket_html._chars(decomposed, 50) == "Café " + "x" * 40
    assert ticket_html._chars("y" * 60, 50) == "y" * 49 + "…"


def test_the_pages_fixed_strings_follow_the_active_language():
    """Each part of the page reads its strings from the active language's catalog, looked
    up once a part: a page in Russian after one in English (and back) is all Russian."""
    from types import SimpleNamespace

    viewer = SimpleNamespace(name="Anna <A>", typing=False, user_id=3)
    bare = {"ticket": SimpleNamespace(number=5, subject="s"), "entries": []}
    seen = {}
    for language in ("en", "ru", "en", "ru"):
        with translation.override(language):
            seen[language] = (
                ticket_html.viewers_html([viewer]),
                ticket_html.conversation_html(bare),
            )
    assert seen["en"] == (
        '<p class="viewers" id="viewers"><span class="viewer" data-user="3">'
        "Anna &lt;A&gt; is viewing</span></p>",
        '<li class="entry event">No messages yet.</li>\n  ',
    )
    assert "Anna &lt;A&gt; смотрит заявку" in seen["ru"][0]
    assert "Сообщений пока нет." in seen["ru"][1]
    with translation.override(None):
        assert "No messages yet." in ticket_html.conversation_html(bare)


def test_the_email_channel_is_offered_from_the_panels_addresses_without_another_query(
    desk, departments, anna
):
    """A ticket with no mail in its timeline: whether the customer has an address comes
    from the side panel's list of addresses (one statement for the page), not a query."""
    from tickets.models import ContactEmail

    ticket = open_ticket(subject="Via the portal", channel="portal", contact=anna)
    html, reads = _page_statements(desk, ticket, ContactEmail._meta.db_table)
    assert len(reads) == 1, reads
    email = html.split('name="channel" value="email"')[1].split(">")[0]
    assert "disabled" not in email
    ContactEmail.objects.filter(contact=anna).delete()
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    email = html.split('name="channel" value="email"')[1].split(">")[0]
    assert 'disabled title="no customer address"' in email


def test_a_fields_label_follows_the_language_and_the_value():
    """``choices.display`` is ``get_FOO_display()`` kept per language, model and value."""
    ticket = Ticket(status=Status.OPEN)
    seen = []
    for language, status in (("en", Status.OPEN), ("ru", Status.OPEN), ("en", Status.SOLVED)):
        ticket.status = status
        with translation.override(language):
            seen.append(choices.display(ticket, "status"))
            assert seen[-1] == ticket.get_status_display()
    assert seen == ["Open", "Открыта", "Solved"]
    ticket.status = "gone"
    assert choices.display(ticket, "status") == "gone"
    from tickets.models import Channel
    from workspace import message_html

    labels = {}
    for language in ("ru", "en", "ru"):
        with translation.override(language):
            labels[language] = message_html._catalog().channel(Channel.EMAIL)
            assert labels[language] == str(Channel.EMAIL.label)
    assert labels["ru"] != labels["en"] == "Email"


def test_a_selects_options_are_written_once_and_marked_per_page(monkeypatch):
    """``options`` keeps a select's options by its (value, label) pairs (the agents'
    select is the same on every ticket page) and marks the chosen one per call; a
    renamed label or another language is another list, never the kept one."""
    from django.utils import translation
    from django.utils.translation import gettext_lazy

    from workspace.templatetags import workspace_tags
    from workspace.templatetags.workspace_tags import options

    agents = [(pk, f"Agent <{pk}>") for pk in range(1, 60)]
    assert options(agents, 3).count(" selected") == 1
    escaped: list[str] = []
    escape = workspace_tags.escape

    def counting(text: str) -> str:
        escaped.append(text)
        return escape(text)

    monkeypatch.setattr(workspace_tags, "escape", counting)
    html = options(list(agents), 12)
    assert len(escaped) <= 2  # the chosen value's mark, not 59 labels again
    assert '<option value="12" selected>Agent &lt;12&gt;</option>' in html
    assert html.count(" selected") == 1 and '<option value="3">' in html
    renamed = [(1, "Renamed & Co")] + agents[1:]
    assert '<option value="1" selected>Renamed &amp; Co</option>' in options(renamed, 1)
    assert options(agents, None).count(" selected") == 0
    labels = [("open", gettext_lazy("Open")), ("solved", gettext_lazy("Solved"))]
    seen = {}
    for language in ("en", "ru", "en"):
        with translation.override(language):
            seen[language] = options(labels, "open")
            assert f">{translation.gettext('Open')}</option>" in seen[language]
    assert seen["en"] != seen["ru"]


def _chat_offered(html: str) -> bool:
    return "disabled" not in html.split('name="channel" value="chat"')[1].split(">")[0]


def test_the_live_chat_is_found_on_the_ticket_or_one_merged_into_it_in_one_plain_statement(
    desk, departments, anna, desk_agent
):
    """Whether the chat channel is offered: a chat still going on, on the ticket or on a
    ticket merged into it, read in one plain statement (not the ORM's join)."""
    from channels_app.chat.models import ChatConversation
    from tickets import services

    ticket = open_ticket(subject="Chat", contact=anna, channel="chat", body="hello?")
    html, reads = _page_statements(desk, ticket, ChatConversation._meta.db_table)
    assert not _chat_offered(html)
    # Not the ORM's query of composer.live_chat (a join, newest chat first): an EXISTS
    # (on PostgreSQL, a part of the page's one statement: workspace.reads.page_reads).
    assert len(reads) == 1 and "EXISTS" in reads[0] and "started_at" not in reads[0], reads
    chat = ChatConversation.objects.create(conversation_id="c-1", ticket=ticket, contact=anna)
    assert _chat_offered(desk.get(f"/desk/t/{ticket.number}/").content.decode())
    ChatConversation.objects.filter(pk=chat.pk).update(ended_at=chat.started_at)
    assert not _chat_offered(desk.get(f"/desk/t/{ticket.number}/").content.decode())
    merged = open_ticket(subject="Chat 2", contact=anna, channel="chat", body="again")
    ChatConversation.objects.create(conversation_id="c-2", ticket=merged, contact=anna)
    services.ticket_merge(source=merged, target=ticket, actor=desk_agent)
    assert _chat_offered(desk.get(f"/desk/t/{ticket.number}/").content.decode())


def test_the_agents_and_departments_come_in_one_statement_in_their_orders(
    desk, departments, anna, desk_agent, other_agent
):
    """The ticket page's selects of agents and departments: one statement for both,
    each list what ``agent_choices`` and ``department_choices`` give (active staff by
    username, active departments by name)."""
    from tests.factories import AgentFactory
    from tickets.models import Department

    AgentFactory(username="aaron", first_name="", last_name="")
    AgentFactory(username="zed", is_active=False)
    Department.objects.create(
        name="Aardvarks", slug="aardvarks", kind="customer_support", inbox_email="aa@desk.example"
    )
    Department.objects.create(
        name="Closed desk",
        slug="closed-desk",
        kind="legal_abuse",
        is_active=False,
        inbox_email="cd@desk.example",
    )
    agents, listed = choices.agent_and_department_choices()
    assert (agents, listed) == (choices.agent_choices(), choices.department_choices())
    assert agents[0][1] == "aaron" and "zed" not in dict(agents).values()
    assert listed[0][1] == "Aardvarks" and "Closed desk" not in dict(listed).values()
    ticket = open_ticket(subject="Selects", contact=anna)
    html, reads = _page_statements(desk, ticket, 'AND "is_staff"', 'WHERE "is_active" ORDER BY')
    assert len(reads) == 1, reads
    assert '<option value="' + str(desk_agent.pk) + '">Alice Agent</option>' in html
    assert ">Aardvarks</option>" in html


def _fields(instance: object) -> tuple:
    """An instance's model and its columns' values (what a page reads of it)."""
    if instance is None:
        return (None,)
    meta = instance._meta  # type: ignore[attr-defined]
    return (type(instance), *(getattr(instance, f.attname) for f in meta.concrete_fields))


@pytest.mark.postgres
def test_the_page_reads_in_one_statement_what_each_part_reads_alone(
    desk, departments, presets, anna, desk_agent
):
    """On PostgreSQL the ticket page reads its agents, departments, messages, attachments,
    events, SLA alerts, short lists, the customer's other tickets, SLA clocks, duplicate
    flags, macros and whether a chat is live in one statement (reads.page_reads): the same
    values, types and orders as each part's own statement; with the ticket itself
    (reads.ticket_page_reads), 2 statements a page (the agent, the ticket and the rest)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from channels_app.chat.models import ChatConversation
    from duplicates.models import DuplicateFlag
    from sla.models import SlaAlert
    from sla.services import ticket_sla_recompute
    from tickets import services
    from tickets.models import ContactPhone, Tag
    from tickets.services import AttachmentIn, MessageIn
    from workspace import panel, reads, timeline
    from workspace.models import Macro

    ticket = open_ticket(subject="Everything", contact=anna, body="first")
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel="email",
            body_text="with a file",
            body_html='<p>with a <img src="cid:pic"> file</p>',
            author_contact=anna,
            attachments=[AttachmentIn(filename="a.txt", content=b"x")],
            metadata={"cc": ["b@northwind.example"]},
        ),
    )
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel="note", direction="internal", body_text="n", author_user=desk_agent
        ),
    )
    services.ticket_assign(ticket=ticket, assignee=desk_agent)
    ticket_sla_recompute(ticket.pk)
    SlaAlert.objects.create(
        ticket=ticket, target="resolution", kind="at_risk", due_at=timezone.now(), notified=["x"]
    )
    ContactPhone.objects.create(contact=anna, number="+31200000009")
    ticket.tags.add(Tag.objects.create(name="vip"))
    other = open_ticket(subject="Other", contact=anna)
    Ticket.objects.filter(pk=other.pk).update(linked_to=ticket)
    DuplicateFlag.objects.create(ticket=ticket, candidate=other, score=0.8125, reasons=["x"])
    Macro.objects.create(name="Hello", body="Hi {customer_name}", language="ru")
    Macro.objects.create(name="Off", body="x", is_active=False)
    ChatConversation.objects.create(conversation_id="c-9", ticket=ticket, contact=anna)
    from workspace.reads import ticket_by_number

    ticket = ticket_by_number(ticket.number)
    shape = {
        "event_kinds": timeline.SHOWN_EVENTS,
        "others": panel.OTHER_TICKETS,
        "flags": panel.FLAGS,
        "follow_ups": 10,
    }
    with CaptureQueriesContext(connection) as captured:
        one = reads.page_reads(ticket, **shape)
    assert len(captured.captured_queries) == 1
    alone = reads._page_reads_one_by_one(
        ticket, tuple(sorted(timeline.SHOWN_EVENTS)), panel.OTHER_TICKETS, panel.FLAGS, 10
    )
    for name in ("messages", "events", "alerts", "macros"):
        got, want = getattr(one, name), getattr(alone, name)
        assert [_fields(i) for i in got] == [_fields(i) for i in want], name
        assert got, name  # each part had something to read
    assert {k: [_fields(a) for a in v] for k, v in one.attachments.items()} == {
        k: [_fields(a) for a in v] for k, v in alone.attachments.items()
    }
    assert one.attachments and one.others and one.flags and one.lists.tags
    assert _fields(one.sla) == _fields(alone.sla) and one.sla is not None
    assert _fields(one.sla.calendar) == _fields(alone.sla.calendar)
    for name in ("agents", "departments", "lists", "others", "flags", "live_chat"):
        assert getattr(one, name) == getattr(alone, name), name
    assert one.live_chat is True and [m.name for m in one.macros] == ["Hello"]
    types = [[type(v) for v in _fields(m.messages[0])] for m in (one, alone)]
    assert types[0] == types[1]

    # The ticket and its page's reads in one statement (the page's parts keyed by the
    # ticket row's columns): the same ticket, relations, version and parts.
    with CaptureQueriesContext(connection) as captured:
        found = reads.ticket_page_reads(ticket.number, **shape)
    assert len(captured.captured_queries) == 1 and found is not None
    both, read = found
    assert _fields(both) == _fields(ticket) and both.desk_version == ticket.desk_version > 0
    for name in reads._RELATED:
        assert _fields(getattr(both, name)) == _fields(getattr(ticket, name)), name
    assert both.contact.name == anna.name and both.assignee == desk_agent
    for name in ("messages", "events", "alerts", "macros"):
        assert [_fields(i) for i in getattr(read, name)] == [
            _fields(i) for i in getattr(one, name)
        ], name
    assert _fields(read.sla) == _fields(one.sla)
    for name in ("agents", "departments", "lists", "others", "flags", "live_chat"):
        assert getattr(read, name) == getattr(one, name), name
    assert {k: [_fields(a) for a in v] for k, v in read.attachments.items()} == {
        k: [_fields(a) for a in v] for k, v in one.attachments.items()
    }
    assert reads.ticket_page_reads(ticket.number + 10_000, **shape) is None

    desk.get(f"/desk/t/{ticket.number}/")
    with CaptureQueriesContext(connection) as captured:
        html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "a.txt" in html and "vip" in html and 'class="flag"' in html
    # The agent (the request cycle's), then the ticket with everything its page shows.
    assert len(captured.captured_queries) == 2, [q["sql"][:80] for q in captured.captured_queries]
    assert desk.get(f"/desk/t/{ticket.number + 10_000}/").status_code == 404


def test_the_customers_other_open_tickets_are_its_unsolved_rows_in_every_unsolved_status(
    desk, departments, anna
):
    """The panel's other open tickets are found by (contact, status) as well as
    ``unsolved`` (reads._unsolved_statuses): a ticket in each status of the desk, and
    exactly the unsolved ones are listed, alone and in the page's one statement."""
    from workspace import reads
    from workspace.rows import UNSOLVED_STATUSES, rows_refresh
    from workspace.views.ticket import PAGE_SHAPE

    this = open_ticket(subject="This one", contact=anna)
    others = {status: open_ticket(subject=f"In {status}", contact=anna) for status in Status}
    for status, ticket in others.items():
        merged = {"merged_into": this} if status == Status.MERGED else {}
        Ticket.objects.filter(pk=ticket.pk).update(status=status, **merged)
    rows_refresh([t.pk for t in others.values()])
    want = {others[s].number for s in UNSOLVED_STATUSES}
    assert len(want) == 4 and len(others) > len(want)  # solved, closed, merged… left out
    this = Ticket.objects.get(pk=this.pk)
    assert {o.number for o in reads.other_open_tickets(this, 10)} == want
    found = reads.ticket_page_reads(this.number, **PAGE_SHAPE)
    assert found is not None
    assert found[1].others == reads.other_open_tickets(this, 10)
