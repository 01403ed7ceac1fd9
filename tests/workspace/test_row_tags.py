"""Tag views from the tags' read model (``workspace.TicketRowTag``): its rows follow every
way a tag is put on or taken off a ticket, the ticket's due order, solving and reopening,
deletions, the backfill and the migration; tag views combined with other filters list
and count what the rows and tags say."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import open_ticket
from tickets import services
from tickets.models import Status, Tag, Ticket
from workspace import queues
from workspace.models import TicketRow, TicketRowTag
from workspace.rows import rows_missing_fill, rows_refresh

from .conftest import set_due

# Real commits: the rows are refreshed when a change commits (as in production).
pytestmark = pytest.mark.django_db(transaction=True)


def _tag_rows() -> set[tuple[int, str]]:
    """The (ticket, tag name) pairs of the tags' read model, each checked to carry its
    ticket's row's due order."""
    dues = dict(TicketRow.objects.values_list("ticket_id", "due_sort"))
    names = dict(Tag.objects.values_list("id", "name"))
    out = set()
    for ticket_id, tag_id, due in TicketRowTag.objects.values_list(
        "ticket_id", "tag_id", "due_sort"
    ):
        assert due == dues[ticket_id], (ticket_id, names[tag_id])
        out.add((ticket_id, names[tag_id]))
    return out


def _listed(filters: queues.ViewFilters, agent) -> list[int]:
    rows, _cursor = queues.page(filters, agent, timezone.now())
    return [r.ticket_id for r in rows]


def test_tag_rows_follow_bulk_tags_the_side_panel_and_the_composer(
    desk, departments, anna, desk_agent
):
    """Bulk tag and untag, the ticket page's tags and a reply's tags (a macro's) all
    reach the tag rows on commit; solving a ticket takes its tags out of the working
    views and reopening it puts them back."""
    a, b, c = (open_ticket(subject=s, contact=anna) for s in "abc")
    desk.post("/desk/bulk/", {"action": "tag", "tags": "vip, refund", "ticket": [a.pk, b.pk]})
    assert _tag_rows() == {(a.pk, "vip"), (a.pk, "refund"), (b.pk, "vip"), (b.pk, "refund")}
    desk.post("/desk/bulk/", {"action": "untag", "tags": "refund", "ticket": [a.pk, b.pk]})
    assert _tag_rows() == {(a.pk, "vip"), (b.pk, "vip")}

    desk.post(
        f"/desk/t/{c.number}/update/",
        {"version": services.ticket_version(c.pk), "tags": "vip Billing"},
    )
    assert _tag_rows() == {(a.pk, "vip"), (b.pk, "vip"), (c.pk, "vip"), (c.pk, "billing")}
    assert sorted(_listed(queues.ViewFilters(tags=("vip",)), desk_agent)) == [a.pk, b.pk, c.pk]

    # A reply that adds a tag (as a macro does) and solves the ticket, in one commit.
    desk.post(
        f"/desk/t/{b.number}/reply/",
        {
            "version": services.ticket_version(b.pk),
            "channel": "email",
            "body": "Done.",
            "tags_add": "outage",
            "status_after": Status.SOLVED,
        },
    )
    b.refresh_from_db()
    assert b.status == Status.SOLVED
    assert set(b.tags.values_list("name", flat=True)) == {"vip", "outage"}
    assert {pair for pair in _tag_rows() if pair[0] == b.pk} == set()
    assert sorted(_listed(queues.ViewFilters(tags=("vip",)), desk_agent)) == [a.pk, c.pk]
    # A saved view that asks for solved tickets too still finds it (tickets' own tags).
    wide = queues.ViewFilters(tags=("outage",), statuses=(Status.OPEN, Status.SOLVED))
    assert _listed(wide, desk_agent) == [b.pk]

    services.ticket_status_set(ticket=b, status=Status.OPEN, actor=desk_agent)
    assert {pair for pair in _tag_rows() if pair[0] == b.pk} == {(b.pk, "vip"), (b.pk, "outage")}
    assert _listed(queues.ViewFilters(tags=("outage",)), desk_agent) == [b.pk]


def test_a_tag_views_order_follows_the_due_moments(departments, desk_agent):
    now = timezone.now()
    first, second = open_ticket(subject="first"), open_ticket(subject="second")
    for ticket in (first, second):
        services.ticket_tags_set(ticket=ticket, add=["vip"])
    set_due(first, now + timedelta(hours=1))
    set_due(second, now + timedelta(hours=2))
    assert _listed(queues.ViewFilters(tags=("vip",)), desk_agent) == [first.pk, second.pk]
    set_due(first, now + timedelta(hours=3))  # an SLA recompute moves it later
    assert _listed(queues.ViewFilters(tags=("vip",)), desk_agent) == [second.pk, first.pk]
    assert len(_tag_rows()) == 2


def test_tag_views_with_other_filters_list_and_count_what_rows_and_tags_say(
    departments, desk_agent, other_agent
):
    """Every combination lists (in due order) and counts the unsolved rows that have all
    the view's tags and pass its other filters: the same as the rows table filtered by
    the tickets' tags."""
    now = timezone.now()
    support, technical = departments["customer-support"], departments["technical-support"]
    tickets = []
    for i in range(12):
        ticket = open_ticket(subject=f"t{i}", department=technical if i % 3 == 0 else support)
        if i % 4 == 0:
            services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=desk_agent)
        elif i % 4 == 1:
            services.ticket_assign(ticket=ticket, assignee=other_agent, actor=desk_agent)
        if i % 5 == 0:
            services.ticket_severity_set(ticket=ticket, severity=2, actor=desk_agent)
        tags = ["vip"] if i % 2 == 0 else []
        tags += ["dns"] if i % 3 != 1 else []
        if tags:
            services.ticket_tags_set(ticket=ticket, add=tags)
        # Half of them breached an hour ago, the others due in i hours.
        set_due(ticket, now + timedelta(hours=(i - 6) if i < 6 else i))
        tickets.append(ticket)
    services.ticket_status_set(ticket=tickets[2], status=Status.SOLVED, actor=desk_agent)
    combos = [
        queues.ViewFilters(tags=("vip",)),
        queues.ViewFilters(tags=("vip", "dns")),
        queues.ViewFilters(tags=("dns",), assignee="me"),
        queues.ViewFilters(tags=("dns",), assignee="none"),
        queues.ViewFilters(tags=("vip",), departments=(technical.pk,)),
        queues.ViewFilters(tags=("vip",), sla="breached"),
        queues.ViewFilters(tags=("dns",), severities=(2,), statuses=(Status.NEW,)),
        queues.ViewFilters(tags=("nobody-has-it",)),
    ]
    views = [queues.View(f"v{i}", "v", f) for i, f in enumerate(combos)]
    counts = queues.bounded_counts(views, desk_agent, now)
    for view in views:
        f = view.filters
        expected = TicketRow.objects.filter(unsolved=True)
        for tag in f.tags:
            expected = expected.filter(ticket__tags__name=tag)
        if f.assignee == "me":
            expected = expected.filter(assignee=desk_agent)
        elif f.assignee == "none":
            expected = expected.filter(assignee=None)
        if f.departments:
            expected = expected.filter(department_id__in=f.departments)
        if f.severities:
            expected = expected.filter(severity__in=f.severities)
        if f.statuses:
            expected = expected.filter(status__in=f.statuses)
        if f.sla == "breached":
            expected = expected.filter(due_sort__lte=now)
        ids = list(expected.order_by("due_sort", "ticket_id").values_list("ticket_id", flat=True))
        assert _listed(f, desk_agent) == ids, f
        assert counts[view.key] == len(ids), f
    assert [counts[v.key] for v in views] == [5, 3, 2, 3, 2, 2, 2, 0]


def test_deleting_a_ticket_or_a_tag_drops_its_tag_rows(departments):
    kept, gone = open_ticket(subject="kept"), open_ticket(subject="gone")
    for ticket in (kept, gone):
        services.ticket_tags_set(ticket=ticket, add=["vip", "dns"])
    Ticket.objects.filter(pk=gone.pk).delete()
    assert _tag_rows() == {(kept.pk, "vip"), (kept.pk, "dns")}
    Tag.objects.get(name="dns").delete()
    assert _tag_rows() == {(kept.pk, "vip")}


def test_the_backfill_and_a_rebuild_make_the_same_tag_rows(departments):
    a, b = open_ticket(subject="a"), open_ticket(subject="b")
    services.ticket_tags_set(ticket=a, add=["vip"])
    services.ticket_tags_set(ticket=b, add=["vip", "refund"])
    written = _tag_rows()
    TicketRowTag.objects.all().delete()
    TicketRow.objects.all().delete()  # a desk upgraded to the workspace
    assert rows_missing_fill() == (2, None)
    assert _tag_rows() == written
    rows_refresh([a.pk, b.pk])  # idempotent
    assert _tag_rows() == written == {(a.pk, "vip"), (b.pk, "vip"), (b.pk, "refund")}


def test_the_migration_fills_the_tag_rows_of_existing_tickets(departments):
    """Migrating to the tags' read model fills it from the rows and tags already there:
    unsolved tickets' tags only, with their rows' due order."""
    a, b, solved = open_ticket(subject="a"), open_ticket(subject="b"), open_ticket(subject="s")
    for ticket in (a, b, solved):
        services.ticket_tags_set(ticket=ticket, add=["vip"])
    services.ticket_tags_set(ticket=b, add=["dns"])
    services.ticket_status_set(ticket=solved, status=Status.SOLVED)
    written = _tag_rows()
    assert written == {(a.pk, "vip"), (b.pk, "vip"), (b.pk, "dns")}
    out = StringIO()
    call_command("migrate", "workspace", "0010", interactive=False, verbosity=0, stdout=out)
    try:
        call_command("migrate", "workspace", "0011", interactive=False, verbosity=0, stdout=out)
        assert _tag_rows() == written
    finally:
        call_command("migrate", interactive=False, verbosity=0, stdout=out)
