"""List rows are kept as HTML per process (workspace/listing.py) and never shown stale:
a changed ticket's row is rendered anew on the next page, and a kept row is the very
HTML the row would be rendered as now (countdown minute, language, zone, tags)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone, translation

from tests.factories import open_ticket
from tickets import services
from tickets.models import Status
from workspace import listing, queues
from workspace.models import AgentProfile

from .conftest import set_due

# Real commits: the list rows are refreshed when a change commits (as in production).
pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = ["due", "channel", "customer", "activity", "status", "assignee", "severity", "tags"]


@pytest.fixture(autouse=True)
def _no_rows_from_other_tests():
    listing._fragments.clear()
    yield
    listing._fragments.clear()


def _all_unsolved(desk) -> str:
    """A shared saved view of every unsolved ticket with the columns a change shows in;
    returns its URL."""
    response = desk.post("/desk/saved/", {"name": "All", "columns": COLUMNS, "shared": "on"})
    assert response.status_code == 302
    return response["Location"]


def _row(page: str, number: int) -> str:
    start = page.index(f'<tr data-ticket="{number}">')
    return page[start : page.index("</tr>", start)]


def test_a_changed_ticket_shows_its_change_on_the_next_page(desk, departments, desk_agent):
    ticket = open_ticket(subject="Printer on fire")
    other = open_ticket(subject="Untouched")
    url = _all_unsolved(desk)
    first = desk.get(url).content.decode()
    before = _row(first, ticket.number)
    assert "nobody" in before and "st-new" in before and ">S" in before
    assert listing._fragments, "the rows are kept"
    again = desk.get(url).content.decode()  # served from what was kept
    assert _row(again, ticket.number) == before and _row(again, other.number) == _row(
        first, other.number
    )

    services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=desk_agent)
    row = _row(desk.get(url).content.decode(), ticket.number)
    assert "Alice Agent" in row and "nobody" not in row

    services.ticket_status_set(ticket=ticket, status=Status.PENDING_CUSTOMER, actor=desk_agent)
    row = _row(desk.get(url).content.decode(), ticket.number)
    assert "st-pending_customer" in row and "st-new" not in row

    severity = 4 if ticket.severity != 4 else 3
    services.ticket_severity_set(ticket=ticket, severity=severity, actor=desk_agent)
    assert f">S{severity}</td>" in _row(desk.get(url).content.decode(), ticket.number)

    due = timezone.now() + timedelta(hours=5, minutes=30)
    set_due(ticket, due)
    assert f'data-due="{int(due.timestamp())}"' in _row(
        desk.get(url).content.decode(), ticket.number
    )

    desk.post("/desk/bulk/", {"action": "tag", "tags": "vip", "ticket": [ticket.pk]})
    last = desk.get(url).content.decode()
    assert '<span class="tag">vip</span>' in _row(last, ticket.number)
    assert _row(last, other.number) == _row(first, other.number)


def _rendered(rows, now, viewer: int, *, kept: bool) -> str:
    columns = [(c, queues.COLUMNS[c]) for c in COLUMNS]
    tags = queues.row_tags(r.ticket_id for r in rows)
    with override_settings(SUPPORTDESK_ROW_FRAGMENTS=5000 if kept else 0):
        return listing.rows_html(rows, columns, now, tags, viewer=viewer)


def test_a_kept_row_is_the_row_rendered_now(departments, desk_agent):
    """Around every minute and hour boundary of the countdown, overdue or not, in each
    language and zone, a kept row is exactly what rendering it now gives."""
    now = timezone.now().replace(microsecond=0)
    tickets = [open_ticket(subject=f"due {i}") for i in range(4)]
    set_due(tickets[0], now + timedelta(hours=1))
    set_due(tickets[1], now + timedelta(minutes=2, seconds=30))
    set_due(tickets[2], now - timedelta(minutes=1))
    services.ticket_tags_set(ticket=tickets[3], add=["b", "a"])
    rows, _cursor = queues.page_rows(queues.ViewFilters(), desk_agent, now)
    assert len(rows) == 4
    steps = [0, 1, 29, 30, 31, 59, 60, 61, 89, 90, 91, 149, 150, 151, 3600, 7200]
    for language, zone in [("en", "UTC"), ("ru", "Europe/Moscow"), ("en", "Asia/Kolkata")]:
        with translation.override(language), timezone.override(zone):
            for step in steps:
                for sign in (1, -1):
                    moment = now + timedelta(seconds=sign * step)
                    assert _rendered(rows, moment, desk_agent.pk, kept=True) == _rendered(
                        rows, moment, desk_agent.pk, kept=False
                    ), (language, zone, sign * step)
    assert listing._fragments


def test_each_agents_rows_speak_their_language_and_zone(desk, departments, desk_agent, client):
    ticket = open_ticket(subject="Bonjour")
    url = _all_unsolved(desk)
    english = _row(desk.get(url).content.decode(), ticket.number)
    AgentProfile.objects.update_or_create(
        user=desk_agent, defaults={"language": "ru", "time_zone": "Europe/Moscow"}
    )
    russian = _row(desk.get(url).content.decode(), ticket.number)
    assert russian != english
    with translation.override("ru"):
        from django.utils.translation import gettext

        assert gettext("nobody") in russian
    assert "Europe/Moscow" in russian and "Europe/Moscow" not in english


def test_rows_are_rendered_every_time_when_turned_off(desk, departments, settings):
    settings.SUPPORTDESK_ROW_FRAGMENTS = 0
    ticket = open_ticket(subject="Not kept")
    url = _all_unsolved(desk)
    assert f'<tr data-ticket="{ticket.number}">' in desk.get(url).content.decode()
    assert not listing._fragments


def test_the_kept_rows_are_bounded(departments, desk_agent, settings):
    settings.SUPPORTDESK_ROW_FRAGMENTS = 3
    for i in range(5):
        open_ticket(subject=f"row {i}")
    now = timezone.now()
    rows, _cursor = queues.page_rows(queues.ViewFilters(), desk_agent, now)
    columns = [(c, queues.COLUMNS[c]) for c in COLUMNS]
    html = listing.rows_html(rows, columns, now, {}, viewer=desk_agent.pk)
    assert html.count("<tr ") == 5
    assert len(listing._fragments) == 3


def test_a_rows_tags_are_part_of_what_is_kept(departments, desk_agent):
    ticket = open_ticket(subject="tagged")
    now = timezone.now()
    rows, _cursor = queues.page_rows(queues.ViewFilters(), desk_agent, now)
    columns = [(c, queues.COLUMNS[c]) for c in COLUMNS]
    bare = listing.rows_html(rows, columns, now, {}, viewer=desk_agent.pk)
    tagged = listing.rows_html(
        rows, columns, now, {ticket.pk: ["outage", "vip"]}, viewer=desk_agent.pk
    )
    assert '<span class="tag">vip</span>' not in bare
    assert '<span class="tag">outage</span> <span class="tag">vip</span>' in tagged


def test_the_kept_rows_name_the_agent_they_were_rendered_for(
    desk, departments, desk_agent, other_agent
):
    ticket = open_ticket(subject="Shared row")
    url = _all_unsolved(desk)
    alice = _row(desk.get(url).content.decode(), ticket.number)
    assert {key[1][0] for key in listing._fragments} == {desk_agent.pk}
    bob = Client()
    bob.force_login(other_agent)
    assert _row(bob.get(url).content.decode(), ticket.number) == alice
    assert {key[1][0] for key in listing._fragments} == {desk_agent.pk, other_agent.pk}
