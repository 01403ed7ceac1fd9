"""The email processor: threading, who wrote, routing, loops, bounces, attachments."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from channels_app.models import InboundStatus
from outbox.models import MailKind, MailStatus, OutgoingMail
from tests.factories import ContactFactory
from tests.outbox_helpers import deliver as outbox_deliver
from tickets.models import Channel, Direction, Message, Status, Ticket
from tickets.services import ticket_merge, ticket_status_set

from .mail_helpers import ABUSE, SUPPORT, TECH, deliver, fixture, make_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(departments, django_capture_on_commit_callbacks):
    """Deliver a mail, run its after-commit work and send what it put in the outbox (the
    acknowledgement), as a worker would."""

    def _run(raw: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            record = deliver(raw)
        outbox_deliver()
        return record

    return _run


def ticket_of(record) -> Ticket:
    assert record.status == InboundStatus.PROCESSED, record.error
    return Ticket.objects.get(pk=record.message.ticket_id)


def test_new_mail_opens_a_ticket_in_the_inbox_department_and_acknowledges(run, mailoutbox, anna):
    """The To inbox picks the department; reply prefixes leave the title; an auto-reply
    with the ticket number goes out and its Message-ID is kept for threading."""
    record = run(
        make_mail(
            subject="Fwd: AW: SV: VPN drops", to=f"Tech <{TECH}>", sender="anna@northwind.example"
        )
    )
    ticket = ticket_of(record)
    assert ticket.department.slug == "technical-support"
    assert ticket.subject == "VPN drops"
    assert ticket.origin_channel == Channel.EMAIL
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert f"[{ticket.reference}]" in sent.subject
    assert sent.to == ["anna@northwind.example"]
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    outbound = OutgoingMail.objects.get(ticket=ticket)
    assert sent.extra_headers["Message-ID"] == f"<{outbound.message_id}>"
    assert outbound.sent_at is not None and outbound.kind == MailKind.AUTO_REPLY
    assert outbound.status == MailStatus.SENT


def test_reply_to_the_acknowledgement_threads_by_references_only(run, mailoutbox):
    """A reply carrying only References (no token, no In-Reply-To) joins the ticket, with
    the quoted history stripped from the text and kept in full in the metadata."""
    ticket = ticket_of(run(make_mail()))
    ours = OutgoingMail.objects.get(ticket=ticket).message_id
    reply = make_mail(
        subject="Re: something else entirely",
        body="Still broken.\n\nOn Tue, 5 Mar 2024 Support wrote:\n> Your ticket was received",
        headers={"References": f"<unrelated@x.example> <{ours}>"},
    )
    message = run(reply).message
    assert message.ticket_id == ticket.pk
    assert message.body_text == "Still broken."
    assert "Your ticket was received" in message.metadata["full_text"]
    assert message.metadata["threaded_by"] == "headers"
    assert Ticket.objects.count() == 1
    assert len(mailoutbox) == 1  # replies are not acknowledged again


def test_token_from_a_contact_of_the_account_joins_the_ticket(run, anna):
    first = ticket_of(run(make_mail(sender="Anna@Northwind.example")))
    colleague = ContactFactory(account=anna.account, email="ben@northwind.example")
    assert colleague.account_id == first.account_id
    record = run(make_mail(subject=f"Re: [{first.reference}] update", sender=colleague_addr()))
    assert record.message.ticket_id == first.pk
    assert record.message.metadata["threaded_by"] == "token"


def colleague_addr() -> str:
    return "Ben <ben@northwind.example>"


def test_a_stranger_replying_to_our_mail_is_quarantined_like_a_token(run, anna):
    """Before: a Message-ID match joined the ticket whoever wrote; Message-IDs leak with
    every forwarded or quoted mail, so the sender is checked as on the token path."""
    first = ticket_of(run(make_mail(sender="Anna@Northwind.example")))
    ours = OutgoingMail.objects.get(ticket=first).message_id
    record = run(make_mail(subject="Re: your ticket", sender="mallory@evil.example",
                           headers={"In-Reply-To": f"<{ours}>"}))  # fmt: skip
    other = ticket_of(record)
    assert other.pk != first.pk
    assert other.linked_to_id == first.pk and other.needs_verification
    assert "quarantine" in record.message.metadata
    assert first.messages.count() == 1
    # A colleague of Anna's account answering the same mail joins it.
    ContactFactory(account=anna.account, email="ben@northwind.example")
    joined = run(make_mail(subject="Re: your ticket", sender=colleague_addr(),
                           headers={"In-Reply-To": f"<{ours}>"}))  # fmt: skip
    assert joined.message.ticket_id == first.pk
    assert joined.message.metadata["threaded_by"] == "headers"


def test_token_from_a_stranger_is_quarantined_in_a_linked_ticket(run, anna):
    """Zammad/osTicket join by token alone; here a stranger gets a separate ticket that
    points at the one it quoted and is flagged for verification."""
    first = ticket_of(run(make_mail(sender="Anna@Northwind.example")))
    record = run(make_mail(subject=f"Re: [{first.reference}] give me the password",
                           sender="mallory@evil.example"))  # fmt: skip
    other = ticket_of(record)
    assert other.pk != first.pk
    assert other.linked_to_id == first.pk and other.needs_verification
    assert "quarantine" in record.message.metadata
    assert first.messages.count() == 1


def test_reply_to_solved_reopens_and_to_closed_opens_a_linked_ticket(run):
    ticket = ticket_of(run(make_mail()))
    ticket_status_set(ticket=ticket, status=Status.SOLVED)
    run(make_mail(subject=f"Re: [{ticket.reference}] thanks", body="Not fixed after all"))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.messages.count() == 2
    ticket_status_set(ticket=ticket, status=Status.CLOSED)
    record = run(make_mail(subject=f"Re: [{ticket.reference}] again", body="Broken again"))
    follow_up = ticket_of(record)
    assert follow_up.pk != ticket.pk and follow_up.linked_to_id == ticket.pk
    assert not follow_up.needs_verification


def test_reply_to_a_merged_ticket_lands_in_the_survivor(run):
    source = ticket_of(run(make_mail(subject="First")))
    target = ticket_of(run(make_mail(subject="Second")))
    ticket_merge(source=source, target=target)
    record = run(make_mail(subject=f"Re: [{source.reference}] First", body="more"))
    assert record.message.ticket_id == target.pk


def test_same_message_id_twice_is_one_message(run):
    """Different bytes (another relay's Received header) but the same Message-ID."""
    raw = make_mail(message_id="dup-1@example.org")
    first = run(raw)
    second = run(b"Received: from relay2.example by mx.example\n" + raw)
    assert first.pk != second.pk
    assert second.status == InboundStatus.PROCESSED
    assert second.message_id == first.message_id
    assert Message.objects.filter(external_id="dup-1@example.org").count() == 1
    assert Ticket.objects.count() == 1


def test_unverified_sender_quoting_a_reseller_id_gets_verification_and_no_account_info(
    run, anna, mailoutbox
):
    record = run(make_mail(subject="Reseller ID 200417: move domains", sender="x@random.example"))
    ticket = ticket_of(record)
    assert ticket.account_id == anna.account_id and ticket.needs_verification
    assert record.message.metadata["reseller_id"] == "200417"
    (sent,) = mailoutbox
    assert "verified" in sent.body
    assert anna.account.name not in sent.body and "Northwind" not in sent.body
    assert OutgoingMail.objects.get(ticket=ticket).kind == MailKind.VERIFICATION


def test_verified_contact_quoting_the_reseller_id_is_not_flagged(run, anna, mailoutbox):
    ticket = ticket_of(run(make_mail(subject="reseller 200417", sender="anna@northwind.example")))
    assert ticket.contact_id == anna.pk and not ticket.needs_verification
    assert "verified" not in mailoutbox[0].body


@pytest.mark.parametrize(
    ("to", "subject"),
    [(ABUSE, "Complaint"), (SUPPORT, "Phishing site hosted on your network")],
)
def test_abuse_goes_to_legal_abuse(run, to, subject):
    ticket = ticket_of(run(make_mail(to=to, subject=subject)))
    assert ticket.department.slug == "legal-abuse"


def test_envelope_recipient_picks_the_department(run):
    raw = make_mail(to="someone@else.example", headers={"Delivered-To": TECH})
    assert ticket_of(run(raw)).department.slug == "technical-support"


def test_bounce_is_noted_on_the_ticket_it_concerns(run):
    ticket = ticket_of(run(make_mail()))
    ours = OutgoingMail.objects.get(ticket=ticket).message_id
    dsn = fixture("dsn_bounce.eml").replace(b"sd-123-reply-9@support.example.com", ours.encode())
    record = run(dsn)
    assert record.status == InboundStatus.PROCESSED
    note = record.message
    assert note.ticket_id == ticket.pk and note.channel == Channel.NOTE
    assert note.metadata["kind"] == "bounce"
    assert Ticket.objects.count() == 1


def test_bounce_for_an_unknown_message_is_ignored_not_a_ticket(run):
    record = run(fixture("dsn_bounce.eml"))
    assert record.status == InboundStatus.IGNORED and "bounce" in record.error
    assert Ticket.objects.count() == 0


def test_list_mail_is_ignored_and_kept(run, mailoutbox):
    record = run(fixture("list_mail.eml"))
    assert record.status == InboundStatus.IGNORED
    assert record.error.startswith("list mail")
    assert Ticket.objects.count() == 0 and not mailoutbox


def test_out_of_office_is_a_note_and_never_answered(run, mailoutbox):
    ticket = ticket_of(run(make_mail()))
    mailoutbox.clear()
    ooo = make_mail(
        subject=f"Out of office: [{ticket.reference}]",
        headers={"Auto-Submitted": "auto-replied"},
    )
    record = run(ooo)
    assert record.message.channel == Channel.NOTE and record.message.ticket_id == ticket.pk
    assert not mailoutbox
    assert run(fixture("auto_reply.eml")).status == InboundStatus.IGNORED


@pytest.mark.parametrize(
    "headers",
    [{"Precedence": "junk"}, {"Auto-Submitted": "auto-generated"}, {"X-Autoreply": "yes"}],
)
def test_no_acknowledgement_to_automatic_mail(run, mailoutbox, headers):
    run(make_mail(headers=headers))
    assert not mailoutbox


def test_no_acknowledgement_to_mail_systems(run, mailoutbox):
    record = run(make_mail(sender="postmaster@example.org"))
    assert record.status in (InboundStatus.PROCESSED, InboundStatus.IGNORED)
    assert not mailoutbox


def test_mail_from_our_own_inbox_is_ignored(run, mailoutbox):
    record = run(make_mail(sender=SUPPORT))
    assert record.status == InboundStatus.IGNORED and "own address" in record.error
    assert not mailoutbox


def test_acknowledgements_are_rate_limited_per_sender(run, mailoutbox, settings):
    settings.SUPPORTDESK_AUTO_REPLY_PER_HOUR = 2
    for n in range(4):
        run(make_mail(subject=f"Problem {n}"))
    assert Ticket.objects.count() == 4
    assert len(mailoutbox) == 2


def test_oversize_and_executable_attachments_are_noted_not_stored(run, settings):
    settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES = 1000
    raw = make_mail(
        attachments=[
            ("big.pdf", b"x" * 5000, "application/pdf"),
            ("tool.exe", b"MZ", "application/octet-stream"),
            ("small.txt", b"fine", "text/plain"),
        ]
    )
    message = run(raw).message
    assert [a.filename for a in message.attachments.all()] == ["small.txt"]
    reasons = {d["filename"]: d["reason"] for d in message.metadata["dropped_attachments"]}
    assert "limit" in reasons["big.pdf"] and "executable" in reasons["tool.exe"]
    assert "Attachments not stored" in message.body_text


def test_text_attachment_beside_a_plain_body_is_kept(run):
    message = run(fixture("text_attachment_beside_body.eml")).message
    names = sorted(message.attachments.values_list("filename", flat=True))
    assert names == ["notes.txt", "server.log"]
    assert message.body_text.strip()


def test_backslashes_stay_literal(run):
    message = run(fixture("backslashes_8bit.eml")).message
    assert r"C:\new\temp\x41 und \u00e4 — Grüße" in message.body_text


def test_an_unreadable_record_fails_with_a_reason_and_blocks_nothing(run):
    bad = run(b"\x00\x01\x02 not a mail at all")
    assert bad.status == InboundStatus.FAILED and "Not a readable email" in bad.error
    good = run(make_mail())
    assert good.status == InboundStatus.PROCESSED


def test_every_fixture_is_stored_and_none_fails(run):
    results = {}
    for path in sorted((fixture_dir := __import__("pathlib").Path(
            __file__).resolve().parents[1] / "fixtures" / "email").glob("*.eml")):  # fmt: skip
        results[path.name] = run(path.read_bytes())
    failed = {n: r.error for n, r in results.items() if r.status == InboundStatus.FAILED}
    assert not failed
    assert fixture_dir.is_dir()
    assert results["list_mail.eml"].status == InboundStatus.IGNORED
    assert results["koi8r_plain.eml"].message.ticket.subject == "Не работает принтер"


def test_html_payload_never_reaches_the_admin_ticket_page(run, client, boss):
    """script, event handlers, javascript: URLs and iframes from a mail are gone from the
    agent's view, while formatting and cid: images survive."""
    ticket = ticket_of(run(fixture("html_xss.eml")))
    client.force_login(boss)
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    for needle in ("alert(", "onerror", "onclick", "javascript:", "<iframe", "position"):
        assert needle not in timeline.lower()
    assert "<b>agent</b>" in timeline
    assert 'src="cid:logo123@example.com"' in timeline


def test_agent_reply_goes_out_threaded_and_appears_as_outbound(
    run, client, boss, mailoutbox, django_capture_on_commit_callbacks
):
    record = run(make_mail(message_id="cust-1@example.org"))
    ticket = ticket_of(record)
    mailoutbox.clear()
    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/tickets/ticket/{ticket.pk}/reply/", {"body": "Fixed it for you."}
        )
    assert response.status_code == 302
    assert not mailoutbox  # stored in the outbox; a worker sends it
    (sent,) = outbox_deliver()
    assert f"[{ticket.reference}]" in sent.subject and sent.to == ["carol@example.org"]
    assert sent.extra_headers["In-Reply-To"] == "<cust-1@example.org>"
    assert "<cust-1@example.org>" in sent.extra_headers["References"]
    reply = ticket.messages.get(direction=Direction.OUTBOUND)
    assert reply.channel == Channel.EMAIL and reply.author_user == boss
    assert sent.extra_headers["Message-ID"] == f"<{reply.external_id}>"
    # The customer's answer to the agent's mail threads by In-Reply-To.
    answer = make_mail(subject="Re: thanks", headers={"In-Reply-To": f"<{reply.external_id}>"})
    assert run(answer).message.ticket_id == ticket.pk
    assert re.search(r"Reply by email", client.get(
        f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode())  # fmt: skip


def test_outlook_reply_threads_by_references_to_a_mail_we_sent(run):
    """Outlook's "RE: AW:" reply quoting our earlier mail by References joins the ticket
    (its token names no ticket here) and keeps only the new text."""
    opened = make_mail(subject="Printer on floor 3", sender="Anna Miller <anna.miller@example.com>")
    ticket = ticket_of(run(opened))
    OutgoingMail.objects.create(
        message_id="sd-123456-1@support.example.com",
        ticket=ticket,
        kind=MailKind.AGENT_REPLY,
        to_email="anna.miller@example.com",
        to=["anna.miller@example.com"],
        from_email="support@example.com",
        status=MailStatus.SENT,
        sent_at=timezone.now(),
    )
    message = run(fixture("outlook_reply.eml")).message
    assert message.ticket_id == ticket.pk
    assert message.metadata["threaded_by"] == "headers"
    assert "From:" not in message.body_text and message.metadata["full_text"]


def test_a_large_attachment_over_the_limit_keeps_the_message(run, settings):
    settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024  # keeps the test quick
    big = settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES + 1
    raw = make_mail(attachments=[("dump.bin", b"\0" * big, "application/octet-stream")])
    message = run(raw).message
    assert message.attachments.count() == 0
    assert message.metadata["dropped_attachments"][0]["size"] == big
    assert message.body_text.startswith("My transfer has been pending")


def test_sent_mail_is_listed_in_the_admin(run, client, boss):
    run(make_mail())
    client.force_login(boss)
    page = client.get("/admin/outbox/outgoingmail/")
    assert page.status_code == 200 and b"carol@example.org" in page.content


def test_nul_characters_do_not_block_storage(run):
    """PostgreSQL refuses NUL in text and jsonb; a mail carrying one is still stored."""
    raw = make_mail(subject="Nul\x00 here", body="before\x00after")
    message = run(raw).message
    assert message.body_text.startswith("beforeafter")
    assert "\x00" not in message.ticket.subject
