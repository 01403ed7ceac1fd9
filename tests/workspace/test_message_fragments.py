"""The ticket page's memo of message fragments (workspace/message_html.py): a message is
written once per agent, language, zone and ticket state, and never shown stale or on a
page that may not show it."""

from __future__ import annotations

import re

import pytest

from tests.factories import open_ticket
from tickets import services
from tickets.models import Channel, Direction, Message
from tickets.services import MessageIn
from workspace import message_html
from workspace.models import AgentProfile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def written(monkeypatch):
    """The messages written from scratch (not from the memo), by id, in order."""
    seen: list[int] = []
    write = message_html.message_html

    def counting(entry, **kwargs):
        seen.append(entry.message.pk)
        return write(entry, **kwargs)

    monkeypatch.setattr(message_html, "message_html", counting)
    message_html.FRAGMENTS.cache_clear()
    yield seen
    message_html.FRAGMENTS.cache_clear()


def _noted(anna, desk_agent):
    ticket = open_ticket(subject="Fragments", contact=anna, body="the customer's question")
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body_text="SECRET NOTE",
            author_user=desk_agent,
        ),
    )
    return ticket


def _csrf(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))


def test_a_page_seen_again_takes_its_messages_from_the_memo_with_this_pages_version(
    desk, departments, anna, desk_agent, written
):
    ticket = open_ticket(subject="Again", contact=anna, body="first words")
    services.message_add(
        ticket=ticket, message=MessageIn(channel=Channel.EMAIL, body_text="second words")
    )
    ids = list(ticket.messages.order_by("occurred_at", "id").values_list("pk", flat=True))
    first = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert written == ids
    services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=desk_agent)
    version = services.ticket_version(ticket.pk)
    again = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert written == ids  # nothing written again: the messages did not change
    assert "first words" in again and "second words" in again
    # The split forms carry this page's version and CSRF token, not the memo's.
    versions = re.findall(r'<input type="hidden" name="version" value="(\d+)">', again)
    assert len(versions) >= 2 and set(versions) == {str(version)}
    assert str(version) not in re.findall(r'name="version" value="(\d+)"', first)
    assert len(_csrf(again)) == 1 and message_html._CSRF_MARK not in again
    assert message_html._VERSION_MARK not in again


def test_a_changed_or_redacted_message_is_never_served_stale(desk, departments, anna, written):
    ticket = open_ticket(subject="Redact", contact=anna, body="card 4111 1111 1111 1111")
    message = ticket.messages.get()
    assert "4111" in desk.get(f"/desk/t/{ticket.number}/").content.decode()
    Message.objects.filter(pk=message.pk).update(body_text="card [redacted]")
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "card [redacted]" in html and "4111" not in html
    Message.objects.filter(pk=message.pk).update(body_html="<p>html <b>[redacted]</b></p>")
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "<b>[redacted]</b>" in html
    assert written == [message.pk] * 3


def test_a_language_or_zone_change_is_never_served_stale(
    desk, departments, anna, desk_agent, written
):
    ticket = _noted(anna, desk_agent)
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "internal note" in html and 'title="Europe/Amsterdam"' in html
    AgentProfile.objects.update_or_create(user=desk_agent, defaults={"language": "ru"})
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "внутренняя заметка" in html and "internal note" not in html
    AgentProfile.objects.update_or_create(
        user=desk_agent, defaults={"language": "en", "time_zone": "Asia/Tokyo"}
    )
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "internal note" in html
    assert 'title="Asia/Tokyo"' in html and 'title="Europe/Amsterdam"' not in html
    assert len(written) == 3 * 2  # two messages, written for each language and zone


def test_an_internal_notes_fragment_is_shown_only_where_its_page_may_show_it(
    client, desk, departments, anna, desk_agent, other_agent, written
):
    ticket = _noted(anna, desk_agent)
    note = ticket.messages.get(channel=Channel.NOTE)
    assert "SECRET NOTE" in desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert note.pk in written

    # Another agent's page is written for them: the memo's keys name the agent.
    written.clear()
    client.force_login(other_agent)
    assert "SECRET NOTE" in client.get(f"/desk/t/{ticket.number}/").content.decode()
    assert note.pk in written

    # A staff user who may not read tickets is refused before anything is read.
    from tests.factories import AgentFactory

    client.force_login(AgentFactory(username="no-tickets"))
    refused = client.get(f"/desk/t/{ticket.number}/")
    assert refused.status_code == 403 and "SECRET NOTE" not in refused.content.decode()

    # Merged into another ticket, the note is on that ticket's page only (marked as
    # merged from this one); this ticket's page no longer has it.
    client.force_login(desk_agent)
    other = open_ticket(subject="Survivor", contact=anna, body="the survivor")
    services.ticket_merge(source=ticket, target=other, actor=desk_agent)
    old_page = client.get(f"/desk/t/{ticket.number}/").content.decode()
    new_page = client.get(f"/desk/t/{other.number}/").content.decode()
    assert "SECRET NOTE" not in old_page and "SECRET NOTE" in new_page
    assert f"merged from {ticket.reference}</span>" in new_page


def test_without_the_memo_every_message_is_written_on_every_page(
    desk, departments, anna, settings, written
):
    settings.SUPPORTDESK_MESSAGE_FRAGMENTS = 0
    ticket = open_ticket(subject="Off", contact=anna, body="always written")
    for _ in range(3):
        assert "always written" in desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert len(written) == 3 and not message_html.FRAGMENTS.items


def test_the_memo_is_bounded_in_entries_and_in_size():
    """Old fragments go first when the memo is full, in entries or in characters; a
    fragment too large to keep is written every time instead."""
    memo = message_html._Fragments()
    for i in range(5):
        memo.put(("m", i), "x" * 10, limit=3)
    assert list(memo.items) == [("m", 2), ("m", 3), ("m", 4)] and memo.size == 30
    assert memo.get(("m", 2)) == "x" * 10  # used: now the newest
    memo.put(("m", 5), "y" * (3 * memo.AVERAGE - 15), limit=3)
    assert list(memo.items) == [("m", 2), ("m", 5)]
    assert memo.size == 10 + 3 * memo.AVERAGE - 15 <= 3 * memo.AVERAGE
    memo.put(("big", 0), "z" * (memo.LARGEST + 1), limit=3)
    assert memo.get(("big", 0)) is None and len(memo.items) == 2
    memo.cache_clear()
    assert not memo.items and memo.size == 0
