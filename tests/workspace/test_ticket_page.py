"""The ticket page: conversation, remote images, attachments, changes with versions."""

from __future__ import annotations

import pytest

from tests.factories import ContactFactory, open_ticket
from tests.outbox_helpers import deliver
from tickets import services
from tickets.models import Channel, Direction, Message, Ticket
from tickets.services import AttachmentIn, MessageIn

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _version(ticket: Ticket) -> int:
    return services.ticket_version(ticket.pk)


def test_conversation_shows_channels_events_and_merges_in_order(
    desk, departments, anna, desk_agent
):
    ticket = open_ticket(subject="Transfer", contact=anna, body="first by email")
    services.message_add(
        ticket=ticket, message=MessageIn(channel=Channel.CHAT, body_text="on chat")
    )
    services.message_add(
        ticket=ticket,
        message=MessageIn(
            channel=Channel.PHONE, body_text="a call", metadata={"duration_seconds": 300}
        ),
    )
    other = open_ticket(subject="Dup", contact=anna, body="the same by portal", channel="portal")
    services.ticket_merge(source=other, target=ticket, actor=desk_agent)
    services.ticket_assign(ticket=ticket, assignee=desk_agent, actor=desk_agent)
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    order = [
        html.index(s)
        for s in (
            "first by email",
            "on chat",
            "a call",
            "the same by portal",
            "merged " + other.reference,
            "assigned it to Alice",
        )
    ]
    assert order == sorted(order)
    assert "call of 300 s" in html and "Times in Europe/Amsterdam" in html


def test_remote_images_are_blocked_until_asked_and_cid_images_come_from_attachments(
    desk, departments, anna
):
    ticket = open_ticket(
        subject="Newsletter",
        contact=anna,
        body_html='<p>Hi<img src="https://tracker.example/pixel.gif?u=1">'
        '<img src="cid:logo@mail" alt="logo"></p>',
        attachments=[
            AttachmentIn("logo.png", PNG, "image/png", content_id="<logo@mail>", is_inline=True)
        ],
    )
    message = ticket.messages.get()
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "tracker.example" not in html
    assert "1 remote image blocked" in html
    attachment = message.attachments.get()
    assert f'src="/desk/a/{attachment.pk}/inline/"' in html
    shown = desk.get(f"/desk/t/{ticket.number}/m/{message.pk}/?images=1").content.decode()
    assert 'src="https://tracker.example/pixel.gif?u=1"' in shown
    image = desk.get(f"/desk/a/{attachment.pk}/inline/")
    assert image["Content-Type"] == "image/png" and image["X-Content-Type-Options"] == "nosniff"
    assert image.content == PNG


def test_a_file_claiming_to_be_an_image_is_not_served_inline(desk, departments, anna):
    ticket = open_ticket(
        subject="x",
        contact=anna,
        body="see file",
        attachments=[AttachmentIn("evil.png", b"<script>alert(1)</script>", "image/png")],
    )
    attachment = ticket.messages.get().attachments.get()
    assert desk.get(f"/desk/a/{attachment.pk}/inline/").status_code == 404
    download = desk.get(f"/desk/a/{attachment.pk}/")
    assert download["Content-Type"] == "application/octet-stream"
    assert "attachment" in download["Content-Disposition"]


def test_text_and_pdf_previews(desk, departments, anna):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(200, 100)
    import io

    buffer = io.BytesIO()
    pdf.save(buffer)
    ticket = open_ticket(
        subject="files",
        contact=anna,
        body="two files",
        attachments=[
            AttachmentIn("log.txt", b"line one <b>\nline two", "text/plain"),
            AttachmentIn("invoice.pdf", buffer.getvalue(), "application/pdf"),
        ],
    )
    text, pdf_file = ticket.messages.get().attachments.order_by("id")
    page = desk.get(f"/desk/a/{text.pk}/preview/").content.decode()
    assert "line one &lt;b&gt;" in page
    png = desk.get(f"/desk/a/{pdf_file.pk}/preview/?png=1")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_stale_change_is_refused_with_the_news(desk, departments, anna, other_agent):
    ticket = open_ticket(subject="Race", contact=anna)
    version = _version(ticket)
    services.ticket_status_set(ticket=ticket, status="solved", actor=other_agent)
    response = desk.post(
        f"/desk/t/{ticket.number}/update/", {"version": version, "status": "pending_customer"}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Bob Agent set the status to Solved" in html
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"


def test_stale_reply_is_refused_and_the_text_kept(desk, departments, anna, other_agent):
    ticket = open_ticket(
        subject="Race",
        contact=anna,
        external_id="m1@x",
        metadata={"from": "anna@northwind.example"},
    )
    version = _version(ticket)
    services.ticket_status_set(ticket=ticket, status="solved", actor=other_agent)
    response = desk.post(
        f"/desk/t/{ticket.number}/reply/",
        {"version": version, "channel": "email", "body": "still investigating"},
    )
    assert response.status_code == 409
    assert "still investigating" in response.content.decode()  # kept in the composer
    # (The solve itself asks the customer "How did we do?": that mail is not the reply.)
    assert not [m for m in deliver() if "still investigating" in m.body]
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_email_reply_with_cc_attachment_and_status(desk, departments, anna):
    from django.core.files.uploadedfile import SimpleUploadedFile

    ticket = open_ticket(
        subject="Mail",
        contact=anna,
        external_id="m2@x",
        metadata={"from": "anna@northwind.example"},
    )
    response = desk.post(
        f"/desk/t/{ticket.number}/reply/",
        {
            "version": _version(ticket),
            "channel": "email",
            "body": "Here is the invoice.",
            "cc": "boss@northwind.example",
            "status_after": "pending_customer",
            "attachments": SimpleUploadedFile("invoice.txt", b"42 EUR", "text/plain"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    sent = deliver()[-1]
    assert sent.to == ["anna@northwind.example"] and sent.cc == ["boss@northwind.example"]
    assert sent.attachments[0][0] == "invoice.txt"
    ticket.refresh_from_db()
    assert ticket.status == "pending_customer"
    out = ticket.messages.get(direction=Direction.OUTBOUND)
    assert out.attachments.get().filename == "invoice.txt" and out.metadata["cc"]


def test_portal_and_chat_answers_go_where_the_customer_is(desk, departments, anna):
    from channels_app.chat.models import ChatConversation

    ticket = open_ticket(subject="Portal", contact=anna, channel="portal")
    desk.post(
        f"/desk/t/{ticket.number}/reply/",
        {"version": _version(ticket), "channel": "portal", "body": "See the portal"},
    )
    answer = ticket.messages.get(direction=Direction.OUTBOUND)
    assert answer.channel == Channel.PORTAL and not deliver()
    chat = open_ticket(subject="Chat", contact=anna, channel="chat", body="hello?")
    ChatConversation.objects.create(conversation_id="c-1", ticket=chat, contact=anna)
    desk.post(
        f"/desk/t/{chat.number}/reply/",
        {"version": _version(chat), "channel": "chat", "body": "Hi, looking"},
    )
    line = chat.messages.get(direction=Direction.OUTBOUND)
    assert line.channel == Channel.CHAT and line.metadata["conversation_id"] == "c-1"


def test_split_moves_the_message_to_a_linked_ticket(desk, departments, anna):
    ticket = open_ticket(subject="Two problems", contact=anna, body="first problem")
    second = services.message_add(
        ticket=ticket,
        message=MessageIn(channel=Channel.EMAIL, body_text="also my DNS", author_contact=anna),
    ).message
    response = desk.post(
        f"/desk/t/{ticket.number}/split/{second.pk}/",
        {"version": _version(ticket), "subject": "DNS"},
    )
    new = Ticket.objects.get(subject="DNS")
    assert response.url == f"/desk/t/{new.number}/"
    assert new.linked_to_id == ticket.pk and new.contact == anna
    assert list(new.messages.values_list("body_text", flat=True)) == ["also my DNS"]
    assert list(ticket.messages.values_list("body_text", flat=True)) == ["first problem"]
    assert ticket.events.filter(kind="split").exists()


def test_merge_across_accounts_needs_the_tick(desk, departments, anna):
    mine = open_ticket(subject="A", contact=anna)
    theirs = open_ticket(subject="B", contact=ContactFactory())
    data = {
        "version": _version(mine),
        "other": theirs.reference,
        "direction": "into_other",
        "confirm": "1",
    }
    page = desk.post(f"/desk/t/{mine.number}/merge/", data)
    assert page.status_code == 200 and b"Tick the box" in page.content
    assert Ticket.objects.get(pk=mine.pk).status != "merged"
    done = desk.post(f"/desk/t/{mine.number}/merge/", {**data, "confirm_accounts": "1"})
    assert done.url == f"/desk/t/{theirs.number}/"
    assert Ticket.objects.get(pk=mine.pk).merged_into_id == theirs.pk
    desk.post(f"/desk/t/{mine.number}/unmerge/", {"reason": "oops"})
    assert Ticket.objects.get(pk=mine.pk).merged_into_id is None


def test_fields_and_tags_from_the_side_panel(desk, departments, anna, other_agent):
    ticket = open_ticket(subject="Fields", contact=anna)
    desk.post(
        f"/desk/t/{ticket.number}/update/",
        {
            "version": _version(ticket),
            "status": "open",
            "assignee": str(other_agent.pk),
            "severity": "2",
            "department": str(departments["technical-support"].pk),
            "tags": "vip Billing",
        },
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.severity) == ("open", other_agent, 2)
    assert ticket.department.slug == "technical-support"
    assert set(ticket.tags.values_list("name", flat=True)) == {"vip", "billing"}


def test_sender_verification_from_the_panel(desk, departments, reseller):
    ticket = open_ticket(subject="Who?", body="hi", metadata={"from": "new@northwind.example"})
    Ticket.objects.filter(pk=ticket.pk).update(account=reseller, needs_verification=True)
    html = desk.get(f"/desk/t/{ticket.number}/").content.decode()
    assert "Sender not verified" in html
    desk.post(f"/desk/t/{ticket.number}/verify/", {"version": _version(ticket)})
    ticket.refresh_from_db()
    assert not ticket.needs_verification and ticket.contact.is_verified


def test_read_only_agents_cannot_change(client, departments, anna):
    from tests.factories import AgentFactory

    from .conftest import grant_ticket_permissions

    reader = AgentFactory(username="reader")
    grant_ticket_permissions(reader, change=False)
    client.force_login(reader)
    ticket = open_ticket(subject="RO", contact=anna)
    assert client.get(f"/desk/t/{ticket.number}/").status_code == 200
    response = client.post(
        f"/desk/t/{ticket.number}/update/", {"version": _version(ticket), "status": "open"}
    )
    assert response.status_code == 403


def test_admin_ticket_page_blocks_remote_images_too(admin, departments, anna):
    ticket = open_ticket(
        subject="Pixel",
        contact=anna,
        body_html='<p>Hello<img src="https://tracker.example/open.gif"></p>',
    )
    html = admin.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "Hello" in html and "tracker.example" not in html


def _page_queries(client, ticket) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Twice before counting: the agent's first workspace page creates their profile, which
    # moves the sign-in version (supportdesk/signin.py), so the next page reads the agent
    # once more before it is kept.
    client.get(f"/desk/t/{ticket.number}/")
    client.get(f"/desk/t/{ticket.number}/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/desk/t/{ticket.number}/").status_code == 200
    return len(captured.captured_queries)


def _converse(ticket, rounds: int, customers: list, agents: list) -> None:
    """Mail with an attachment from each customer in turn, a note by each agent in turn,
    a chat line and an assignment, ``rounds`` times."""
    for n in range(rounds):
        services.message_add(
            ticket=ticket,
            message=MessageIn(
                channel=Channel.EMAIL,
                body_text=f"mail {n}",
                body_html=f"<p>mail {n}</p>",
                author_contact=customers[n % len(customers)],
                attachments=[AttachmentIn(filename=f"n{n}.txt", content=b"x")],
            ),
        )
        agent = agents[n % len(agents)]
        services.message_add(
            ticket=ticket,
            message=MessageIn(
                channel=Channel.NOTE,
                direction=Direction.INTERNAL,
                body_text=f"note {n}",
                author_user=agent,
            ),
        )
        services.message_add(ticket=ticket, message=MessageIn(channel=Channel.CHAT, body_text="hi"))
        services.ticket_assign(ticket=ticket, assignee=agent)


def test_the_page_reads_the_same_few_queries_however_long_the_conversation(
    desk, departments, anna, desk_agent, other_agent
):
    bob = ContactFactory(account=anna.account, name="Bob Builder", email="bob@northwind.example")
    short = open_ticket(subject="Short", contact=anna)
    _converse(short, 1, [bob], [other_agent])
    long = open_ticket(subject="Long", contact=anna)
    _converse(long, 6, [bob, anna], [other_agent, desk_agent])
    assert _page_queries(desk, long) == _page_queries(desk, short)
    html = desk.get(f"/desk/t/{long.number}/").content.decode()
    assert "Bob Builder" in html and "Bob Agent" in html and "n5.txt" in html


def test_duplicate_flags_in_the_panel_merge_and_dismiss(desk, departments, anna):
    from duplicates.models import DuplicateFlag, FlagStatus

    first = open_ticket(subject="Original", contact=anna)
    second = open_ticket(subject="Again", contact=anna)
    third = open_ticket(subject="Once more", contact=anna)
    merge_me = DuplicateFlag.objects.create(ticket=second, candidate=first, score=0.91)
    dismiss_me = DuplicateFlag.objects.create(ticket=third, candidate=first, score=0.62)
    html = desk.get(f"/desk/t/{first.number}/").content.decode()
    assert "Possibly duplicated by" in html and second.reference in html and "(0.91)" in html
    assert html.index(second.reference) < html.index(third.reference)  # best score first
    assert 'value="merge" class="flag-merge"' in html  # same account: one click
    desk.post(
        f"/desk/t/{first.number}/flags/{dismiss_me.pk}/",
        {"action": "dismiss", "version": _version(first)},
    )
    desk.post(
        f"/desk/t/{first.number}/flags/{merge_me.pk}/",
        {"action": "merge", "version": _version(first)},
    )
    assert DuplicateFlag.objects.get(pk=dismiss_me.pk).status == FlagStatus.DISMISSED
    assert Ticket.objects.get(pk=second.pk).merged_into_id == first.pk
    html = desk.get(f"/desk/t/{first.number}/").content.decode()
    assert "No open duplicate flags." in html
