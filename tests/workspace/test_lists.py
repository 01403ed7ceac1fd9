"""The workspace's views: rows follow the tickets, keyset pages, bounded counts, bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ContactFactory, open_ticket
from tickets import services
from tickets.models import Status, Ticket
from workspace import queues, view_sql
from workspace.models import NO_DUE, TicketRow

from .conftest import set_due

# Real commits: the list rows are refreshed when a change commits (as in production).
pytestmark = pytest.mark.django_db(transaction=True)


def test_rows_follow_service_changes(departments, desk_agent):
    """Every service change is in the read model once it commits."""
    ticket = open_ticket(subject="Row me")
    row = TicketRow.objects.get(ticket=ticket)
    assert (row.status, row.unsolved, row.assignee_id) == ("new", True, None)
    services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=desk_agent)
    services.ticket_status_set(ticket=ticket, status=Status.SOLVED, actor=desk_agent)
    row.refresh_from_db()
    assert (row.status, row.unsolved, row.assignee_id) == ("solved", False, desk_agent.pk)


def test_deadlines_from_a_recompute_reach_the_rows(departments, presets):
    """An SLA recompute announces its commit; the row takes the earliest running due."""
    from sla.services import ticket_sla_recompute

    ticket = open_ticket(subject="Clock me", department=departments["technical-support"])
    ticket_sla_recompute(ticket.pk)
    row = TicketRow.objects.get(ticket=ticket)
    sla = ticket.sla
    dues = [d for d in (sla.first_response_due, sla.resolution_due) if d is not None]
    assert dues and row.sla_due == min(dues) and row.due_sort == row.sla_due


def test_builtin_views_filter_and_sort_by_due(departments, desk_agent):
    now = timezone.now()
    late = open_ticket(subject="late")
    soon = open_ticket(subject="soon")
    later = open_ticket(subject="later")
    nodue = open_ticket(subject="no due")
    set_due(late, now - timedelta(hours=1), now - timedelta(hours=2))
    set_due(soon, now + timedelta(minutes=20), now - timedelta(minutes=10))
    set_due(later, now + timedelta(days=2), now + timedelta(days=1))
    merged = open_ticket(subject="merged away")
    services.ticket_merge(source=merged, target=later)
    closed = open_ticket(subject="closed")
    services.ticket_status_set(ticket=closed, status=Status.CLOSED)
    services.ticket_assign(ticket=soon, assignee=desk_agent)

    def subjects(key: str) -> list[str]:
        view = next(v for v in queues.agent_views(desk_agent) if v.key == key)
        rows, _ = queues.page(view.filters, desk_agent, now)
        return [r.subject for r in rows]

    assert subjects("unassigned") == ["late", "later", "no due"]
    assert subjects("mine") == ["soon"]
    assert subjects("breached") == ["late"]
    assert subjects("at-risk") == ["soon"]
    assert subjects("dept-customer-support") == ["late", "soon", "later", "no due"]
    assert TicketRow.objects.get(ticket=nodue).due_sort == NO_DUE


def test_pages_follow_a_cursor_without_offset(departments, desk_agent):
    for n in range(queues.PAGE_SIZE + 5):
        open_ticket(subject=f"t{n:03d}")
    filters = queues.ViewFilters(assignee="none")
    now = timezone.now()
    first, cursor = queues.page(filters, desk_agent, now)
    with CaptureQueriesContext(connection) as captured:
        second, last = queues.page(filters, desk_agent, now, cursor)
    assert len(first) == queues.PAGE_SIZE and len(second) == 5 and last == ""
    assert {r.ticket_id for r in first}.isdisjoint({r.ticket_id for r in second})
    assert not any("OFFSET" in q["sql"].upper() for q in captured.captured_queries)


def test_a_page_reads_its_moments_to_the_microsecond(departments, desk_agent):
    """A list page reads a row's moments as microseconds (queues.PageRow): they are the
    very moments the read model holds, and the next page's cursor is the one the row
    gives, whatever the fraction of a second."""
    now = timezone.now()
    odd = open_ticket(subject="odd microseconds")
    set_due(odd, now.replace(microsecond=999_999) + timedelta(days=400))
    early = open_ticket(subject="before 1970")
    set_due(early, now.replace(year=1969, microsecond=1))
    for n in range(queues.PAGE_SIZE):
        open_ticket(subject=f"no due {n}")
    rows, cursor = queues.page_rows(queues.ViewFilters(), desk_agent, now)
    assert len(rows) == queues.PAGE_SIZE and cursor
    for row in rows:
        stored = TicketRow.objects.get(ticket_id=row.ticket_id)
        listed = queues.list_row(row)
        assert (listed.sla_due, listed.due_sort, listed.last_activity_at) == (
            stored.sla_due,
            stored.due_sort,
            stored.last_activity_at,
        )
    assert {r.ticket_id for r in rows[:2]} == {early.pk, odd.pk}
    assert cursor == queues.encode_cursor(TicketRow.objects.get(ticket_id=rows[-1].ticket_id))
    assert queues.page(queues.ViewFilters(), desk_agent, now)[0] == [
        queues.list_row(r) for r in rows
    ]


def test_counts_are_bounded_and_come_in_one_query(departments, desk_agent, monkeypatch):
    monkeypatch.setattr(queues, "COUNT_CAP", 3)
    for n in range(5):
        open_ticket(subject=f"c{n}")
    views = queues.agent_views(desk_agent)
    with CaptureQueriesContext(connection) as captured:
        counts = queues.bounded_counts(views, desk_agent, timezone.now())
    assert len(captured.captured_queries) == 1
    assert counts["unassigned"] == 4  # capped at COUNT_CAP + 1: shown "3+"
    assert counts["mine"] == 0


def test_counts_fragment_shows_capped_counts(desk, departments, monkeypatch):
    monkeypatch.setattr(queues, "COUNT_CAP", 2)
    for n in range(4):
        open_ticket(subject=f"c{n}")
    html = desk.get("/desk/counts/?current=mine").content.decode()
    assert 'data-count="unassigned">2+<' in html


def test_bulk_assign_goes_through_the_service_for_each(desk, departments, desk_agent, other_agent):
    tickets = [open_ticket(subject=f"b{n}") for n in range(20)]
    merged = open_ticket(subject="gone")
    services.ticket_merge(source=merged, target=tickets[0])
    response = desk.post(
        "/desk/bulk/",
        {
            "action": "assign",
            "value": str(other_agent.pk),
            "ticket": [t.pk for t in tickets] + [merged.pk],
            "next": "/desk/views/mine/",
        },
    )
    assert response.status_code == 302
    assert Ticket.objects.filter(assignee=other_agent).count() == 20
    assert TicketRow.objects.filter(assignee_id=other_agent.pk).count() == 20
    assert Ticket.objects.get(pk=merged.pk).assignee_id is None  # refused by the service
    page = desk.get("/desk/views/mine/").content.decode()
    assert "was merged into another ticket" in page


def test_bulk_status_refuses_invalid_transitions_per_ticket(desk, departments):
    open_one = open_ticket(subject="a")
    closed = open_ticket(subject="b")
    services.ticket_status_set(ticket=closed, status=Status.CLOSED)
    desk.post(
        "/desk/bulk/", {"action": "status", "value": "solved", "ticket": [open_one.pk, closed.pk]}
    )
    assert Ticket.objects.get(pk=open_one.pk).status == "solved"
    assert Ticket.objects.get(pk=closed.pk).status == "closed"


def test_bulk_merge_across_accounts_asks_first(desk, departments):
    a = open_ticket(subject="a", contact=ContactFactory())
    b = open_ticket(subject="b", contact=ContactFactory())
    page = desk.post("/desk/bulk/", {"action": "merge", "ticket": [a.pk, b.pk]})
    assert page.status_code == 200 and b"different accounts" in page.content
    assert Ticket.objects.get(pk=b.pk).status != "merged"
    desk.post("/desk/bulk/", {"action": "merge", "confirm": "1", "ticket": [a.pk, b.pk]})
    assert Ticket.objects.get(pk=b.pk).merged_into_id == a.pk


def test_bulk_tags_and_tag_views(desk, departments, desk_agent):
    a, b = open_ticket(subject="a"), open_ticket(subject="b")
    desk.post("/desk/bulk/", {"action": "tag", "tags": "VIP, refund", "ticket": [a.pk]})
    assert set(a.tags.values_list("name", flat=True)) == {"vip", "refund"}
    rows, _ = queues.page(queues.ViewFilters(tags=("vip",)), desk_agent, timezone.now())
    assert [r.ticket_id for r in rows] == [a.pk]
    assert b.events.filter(kind="tags_changed").count() == 0


def test_saved_view_keeps_filters_and_columns(desk, departments, desk_agent, other_agent):
    open_ticket(subject="tech", department=departments["technical-support"])
    open_ticket(subject="cs")
    response = desk.post(
        "/desk/saved/",
        {
            "name": "Tech queue",
            "departments": [departments["technical-support"].pk],
            "columns": ["due", "customer"],
            "shared": "on",
        },
    )
    saved_url = response["Location"]
    page = desk.get(saved_url).content.decode()
    assert "tech" in page and ">cs<" not in page and 'class="c-account"' not in page
    keys = [v.key for v in queues.agent_views(other_agent)]
    assert saved_url.rstrip("/").rsplit("/", 1)[-1] in keys  # shared


def test_anonymous_and_customers_are_kept_out(client, db, departments):
    from tests.factories import AgentFactory

    assert client.get("/desk/views/mine/").status_code == 302
    nobody = AgentFactory(username="cust", is_staff=False)
    client.force_login(nobody)
    assert client.get("/desk/views/mine/").status_code == 403
    assert client.get("/").url == "/portal/"


def test_root_and_admin_lead_agents_to_the_workspace(desk):
    assert desk.get("/").url == "/desk/"
    assert desk.get("/admin/").url == "/desk/"
    assert desk.get("/admin/?config=1").status_code == 200


def _list_queries(client, url: str) -> int:
    # Twice before counting: the agent's first workspace page creates their profile, which
    # moves the sign-in version (supportdesk/signin.py), so the next page reads the agent
    # once more before it is kept.
    client.get(url)
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_a_list_page_reads_the_same_few_queries_for_3_or_40_rows(
    desk, departments, desk_agent, other_agent
):
    few = [open_ticket(subject=f"few {n}") for n in range(3)]
    for ticket in few:
        services.ticket_assign(ticket=ticket, assignee=desk_agent)
    mine = _list_queries(desk, "/desk/views/mine/")
    assert mine == _list_queries(desk, "/desk/views/unassigned/")
    for n in range(40):
        contact = ContactFactory(name=f"Customer {n}")
        ticket = open_ticket(subject=f"many {n}", contact=contact)
        services.ticket_tags_set(ticket=ticket, add=["vip"], actor=desk_agent)
    assert _list_queries(desk, "/desk/views/unassigned/") == mine
    html = desk.get("/desk/views/unassigned/").content.decode()
    assert "Customer 39" in html and html.count('<tr data-ticket="') == 40


def test_saved_views_have_no_sidebar_count(desk, departments, desk_agent):
    from workspace.models import SavedView

    open_ticket(subject="counted")
    saved = SavedView.objects.create(name="Everything", owner=desk_agent)
    html = desk.get("/desk/counts/?current=mine").content.decode()
    assert 'data-count="unassigned">1<' in html
    assert f'data-count="saved-{saved.pk}"></span>' in html


def test_a_view_is_saved_from_its_own_page(desk, departments, desk_agent):
    page = desk.get("/desk/saved/?from=unassigned").content.decode()
    assert 'id="save-view-form"' in page and '<option value="none" selected>' in page
    refused = desk.post("/desk/saved/", {"name": ""})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    assert desk.get("/desk/saved/?from=no-such-view").status_code == 404


def test_a_tags_column_shows_each_rows_tags_in_order(desk, departments, desk_agent):
    a, b, c = open_ticket(subject="a"), open_ticket(subject="b"), open_ticket(subject="c")
    desk.post("/desk/bulk/", {"action": "tag", "tags": "vip, refund", "ticket": [a.pk]})
    desk.post("/desk/bulk/", {"action": "tag", "tags": "outage", "ticket": [b.pk]})
    assert queues.row_tags([]) == {}
    assert queues.row_tags([a.pk, b.pk, c.pk]) == {a.pk: ["refund", "vip"], b.pk: ["outage"]}
    response = desk.post(
        "/desk/saved/", {"name": "Tagged", "columns": ["due", "tags"], "shared": "on"}
    )
    page = desk.get(response["Location"]).content.decode()
    assert '<span class="tag">refund</span> <span class="tag">vip</span>' in page
    assert '<span class="tag">outage</span>' in page


def _plan(sql: str, params: list, *off: str) -> str:
    """The statement's plan, with the planner's ``off`` methods (``seqscan``,
    ``hashjoin``…) priced out: on a test's few rows (and whatever statistics earlier tests
    left) a seq scan, hashed against the rest, is rightly cheapest, which says nothing of
    the 1M desk. With them off, the plan says whether the statement *can* be answered by
    the index it is written for (bench/README.md has the 1M EXPLAINs)."""
    with connection.cursor() as cursor:
        for method in off:
            cursor.execute(f"SET enable_{method} = off")
        try:
            cursor.execute("EXPLAIN (COSTS OFF) " + sql, params)
            return "\n".join(line for (line,) in cursor.fetchall())
        finally:
            for method in off:
                cursor.execute(f"RESET enable_{method}")


@pytest.mark.postgres
def test_a_tag_views_page_and_count_are_a_range_of_the_tags_index(desk, departments, desk_agent):
    """A working view of a tag reads the tag's range of (tag, due_sort, ticket) in due
    order, and its count reads nothing else; with other filters the rows are checked per
    tag row (a subplan), never hashed whole."""
    tagged = [open_ticket(subject=f"t{i}") for i in range(3)]
    open_ticket(subject="untagged")
    desk.post("/desk/bulk/", {"action": "tag", "tags": "vip", "ticket": [t.pk for t in tagged]})
    now = timezone.now()
    for filters in (
        queues.ViewFilters(tags=("vip",)),
        queues.ViewFilters(tags=("vip",), assignee="none", severities=(1, 2, 3)),
    ):
        where, params, table = view_sql.view_where(filters, desk_agent.pk, now)
        assert table == view_sql.ROW_TAGS
        sql, values = view_sql.page_sql(where, params, None, queues.PAGE_SIZE + 1, table=table)
        count, count_values = view_sql.count_sql([(where, params, table)], queues.COUNT_CAP + 1)
        page_plan = _plan(sql, values, "seqscan", "hashjoin")
        count_plan = _plan(count, count_values, "seqscan", "hashjoin")
        for plan in (page_plan, count_plan):
            assert "ws_rowtag_due" in plan and "ws_row_due" not in plan, plan
            for hashed in ("Hash Join", "Hash Semi Join", "hashed SubPlan"):
                assert hashed not in plan, plan
        # The tag alone reads no row to count it; other filters look rows up by key.
        assert ("workspace_ticketrow_pkey" in count_plan) == bool(filters.assignee), count_plan
        rows, _cursor = queues.page(filters, desk_agent, now)
        assert sorted(r.ticket_id for r in rows) == sorted(t.pk for t in tagged)


@pytest.mark.postgres
def test_a_view_of_one_severity_can_read_the_severitys_due_range(departments, desk_agent):
    """The severity index's condition is the one a view of one severity writes (so the
    planner may read its range instead of walking the due index past other severities)."""
    open_ticket(subject="s3")
    where, params, table = view_sql.view_where(
        queues.ViewFilters(severities=(1,)), desk_agent.pk, timezone.now()
    )
    sql, values = view_sql.page_sql(where, params, None, queues.PAGE_SIZE + 1, table=table)
    plan = _plan(sql, values, "seqscan")
    assert "ws_row_severity_due" in plan, plan


def test_a_tag_views_pages_follow_the_due_order_page_after_page(
    departments, desk_agent, monkeypatch
):
    """A tag view's pages (its keys from the tag's rows, then those rows with their
    names): the tag's tickets in due order, page after page, and no row of another tag;
    the same rows as the rows table filtered by ``tickets_ticket_tags``."""
    now = timezone.now()
    tagged = [open_ticket(subject=f"t{i}", contact=ContactFactory(name="Ada")) for i in range(5)]
    other = open_ticket(subject="outage only")
    for i, ticket in enumerate([*tagged, other]):
        set_due(ticket, now + timedelta(hours=6 - i))  # due in the reverse order
    for ticket in tagged:
        services.ticket_tags_set(ticket=ticket, add=["vip"])
    services.ticket_tags_set(ticket=other, add=["outage"])
    services.ticket_assign(ticket=tagged[2], assignee=desk_agent, actor=desk_agent)
    monkeypatch.setattr(queues, "PAGE_SIZE", 2)
    filters = queues.ViewFilters(tags=("vip",))
    # The same view of solved tickets too: the rows table and tickets_ticket_tags.
    wide = queues.ViewFilters(tags=("vip",), statuses=(Status.NEW, Status.OPEN, Status.SOLVED))
    where, params, table = view_sql.view_where(wide, desk_agent.pk, now)
    assert table == view_sql.ROWS
    seen: list[queues.ListRow] = []
    cursor = ""
    for _page in range(3):
        after = queues.decode_cursor(cursor)
        with CaptureQueriesContext(connection) as queries:
            rows, cursor = queues.page(filters, desk_agent, now, cursor)
        assert any(f'FROM "{view_sql.ROW_TAGS}"' in q["sql"] for q in queries.captured_queries)
        sql, values = view_sql.page_sql(where, params, after, 2, keys_first=True)
        with connection.cursor() as db:
            db.execute(sql, values)
            assert [r[0] for r in db.fetchall()] == [r.ticket_id for r in rows]
        seen += rows
        if not cursor:
            break
    assert not cursor
    assert [r.ticket_id for r in seen] == [t.pk for t in reversed(tagged)]
    named = next(r for r in seen if r.ticket_id == tagged[2].pk)
    assert (named.assignee_id, named.contact_name, named.subject) == (desk_agent.pk, "Ada", "t2")


def test_a_pages_rows_hold_aware_moments_and_booleans(departments, desk_agent):
    """PostgreSQL's rows are taken as they come, SQLite's converted: the same values."""
    ticket = open_ticket(subject="moments")
    due = timezone.now() + timedelta(hours=3)
    set_due(ticket, due)
    rows, _cursor = queues.page(queues.ViewFilters(), desk_agent, timezone.now())
    (row,) = rows
    assert row.sla_due == due and row.due_sort == due
    for moment in (row.sla_due, row.due_sort, row.last_activity_at):
        assert timezone.is_aware(moment) and moment.utcoffset() == timedelta(0)
    assert row.needs_verification is False
