"""duplicates_detect: flags with reasons, idempotence, auto-merge of exact re-sends,
the announcement task queued for new flags, and which tickets are candidates."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from duplicates.models import DuplicateBand, DuplicateFlag, FlagStatus, TicketSignature
from duplicates.services import duplicates_detect, flag_dismiss, flag_merge, flags_announce
from tests.outbox_helpers import deliver as outbox_deliver
from tickets import services
from tickets.models import Channel, Direction, Message, Status, Ticket

from ..factories import AccountFactory, ContactFactory, open_ticket

pytestmark = pytest.mark.django_db

TRANSFER_MAIL = (
    "Hello,\n\nThe transfer of northwind-shop.nl keeps failing: the control panel says the "
    "auth code is invalid, although the domain is unlocked.\n\nKind regards,\nAnna"
)
TRANSFER_CHAT = (
    "[10:42] Anna: hi, transfer of northwind-shop.nl fails\n"
    "[10:43] Agent Mark: Which error do you see?\n"
    "[10:44] Anna: auth code invalid, but the domain is unlocked"
)


def announce_run(ticket_ids: list[int]) -> object:
    from duplicates.tasks import announce as task

    return task.run(ticket_ids)


@pytest.fixture
def announce():
    """Run the ``duplicates.announce`` task in-process when detection queues it."""
    from duplicates.tasks import announce as task

    with mock.patch.object(task, "delay", side_effect=announce_run) as delay:
        yield delay


@pytest.fixture
def mail_ticket(departments, anna, agent):
    agent.email = "alice@supportdesk.example"
    agent.save(update_fields=["email"])
    ticket = open_ticket(
        subject="Transfer northwind-shop.nl failing",
        body=TRANSFER_MAIL,
        contact=anna,
        department=departments["technical-support"],
    )
    services.ticket_assign(ticket=ticket, assignee=agent)
    duplicates_detect(ticket.pk)
    return ticket


def test_chat_about_the_same_transfer_is_flagged_with_reasons(
    mail_ticket, anna, agent, departments, announce, django_capture_on_commit_callbacks
):
    """A chat in another department about the email's failing transfer is flagged: flag
    with score and reasons, then (the queued announcement) an internal note on the ticket
    and a mail to the assignee."""
    chat = open_ticket(
        subject="Chat with Anna",
        channel=Channel.CHAT,
        body=TRANSFER_CHAT,
        contact=anna,
        department=departments["customer-support"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = duplicates_detect(chat.pk)
    assert result.flagged == [mail_ticket.pk]
    announce.assert_called_once_with([chat.pk])
    flag = DuplicateFlag.objects.get(ticket=chat)
    assert flag.candidate == mail_ticket and flag.status == FlagStatus.SUGGESTED
    assert flag.announced_at is not None
    assert flag.score >= 0.5
    assert "same domain: northwind-shop.nl" in flag.reasons
    note = Message.objects.get(ticket=chat, channel=Channel.NOTE)
    assert note.direction == Direction.INTERNAL
    assert note.body_text.startswith(f"Possible duplicate of {mail_ticket.reference}")
    assert len(outbox_deliver()) == 1
    assert outbox_deliver()[0].to == [agent.email]
    assert chat.reference in outbox_deliver()[0].subject


def test_a_batch_queues_one_announcement_for_all_its_flags(
    mail_ticket, anna, departments, announce, django_capture_on_commit_callbacks
):
    """``detect_many`` (one commit's new tickets) announces its flags in one task."""
    from duplicates.tasks import detect_many

    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    other = open_ticket(subject="Printer", body="The office printer jams daily.", contact=anna)
    phone = open_ticket(
        subject="Call: transfer northwind-shop.nl", channel=Channel.PHONE,
        body="Anna called: transfer of northwind-shop.nl fails, auth code invalid.",
        contact=anna, department=departments["reseller-support"],  # the line taking calls
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert detect_many.run([phone.pk, other.pk, chat.pk]) == 3
    announce.assert_called_once_with([chat.pk, phone.pk])
    assert Message.objects.filter(ticket__in=[chat, phone], channel=Channel.NOTE).count() == 2
    assert not DuplicateFlag.objects.filter(ticket=other).exists()


def _flagged_chats(anna, numbers: range) -> list[Ticket]:
    chats = []
    for number in numbers:
        body = f"{TRANSFER_CHAT}\n[10:5{number}] Anna: attempt {number} failed the same way"
        chat = open_ticket(subject=f"Chat {number}", channel=Channel.CHAT, body=body, contact=anna)
        duplicates_detect(chat.pk, notify=False)  # flagged (not an exact re-send), unannounced
        chats.append(chat)
    return chats


def test_one_announce_task_commits_its_tickets_notes_together(
    mail_ticket, anna, django_capture_on_commit_callbacks
):
    """The announce task of many tickets posts each one note in one transaction: their
    events are announced once (one list-row and report refresh for all, where ticket by
    ticket it was one each), and 2 or 5 tickets cost the same statements."""
    from duplicates.tasks import announce as task
    from tickets.signals import ticket_events

    sends: list[set[int]] = []

    def count(sender, events, **kwargs):
        sends.append({e.ticket_id for e in events})

    ticket_events.connect(count, dispatch_uid="test.count_announce_sends")
    try:
        costs = []
        for numbers in (range(2), range(2, 7)):
            chats = _flagged_chats(anna, numbers)
            sends.clear()
            with (
                CaptureQueriesContext(connection) as queries,
                django_capture_on_commit_callbacks(execute=True),
            ):
                announced = task.run([c.pk for c in chats])
            assert announced == DuplicateFlag.objects.filter(ticket__in=chats).count() > len(chats)
            assert sends == [{c.pk for c in chats}]
            costs.append(len(queries))
    finally:
        ticket_events.disconnect(dispatch_uid="test.count_announce_sends")
    assert costs[0] == costs[1]
    notes = Message.objects.filter(channel=Channel.NOTE).order_by("ticket_id")
    chats = Ticket.objects.filter(subject__startswith="Chat").order_by("pk")
    assert [n.ticket_id for n in notes] == [c.pk for c in chats]
    # One mail per flag with an assignee: the chats are unassigned, mail_ticket is not.
    assert len(outbox_deliver()) == DuplicateFlag.objects.filter(candidate=mail_ticket).count() == 7


def test_detection_is_idempotent(mail_ticket, anna, announce, django_capture_on_commit_callbacks):
    """Running twice keeps one flag, one note, one notification and the same keys."""
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    with django_capture_on_commit_callbacks(execute=True):
        duplicates_detect(chat.pk)
        keys = set(DuplicateBand.objects.filter(ticket=chat).values_list("band_key", flat=True))
        duplicates_detect(chat.pk)
    assert DuplicateFlag.objects.filter(ticket=chat).count() == 1
    assert Message.objects.filter(ticket=chat, channel=Channel.NOTE).count() == 1
    assert len(outbox_deliver()) == 1
    assert set(DuplicateBand.objects.filter(ticket=chat).values_list("band_key", flat=True)) == keys
    assert TicketSignature.objects.filter(ticket=chat).count() == 1


def test_dismissed_flag_is_not_raised_again(
    mail_ticket, anna, announce, django_capture_on_commit_callbacks
):
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    with django_capture_on_commit_callbacks(execute=True):
        duplicates_detect(chat.pk)
    flag_dismiss(flag=DuplicateFlag.objects.get(ticket=chat))
    with django_capture_on_commit_callbacks(execute=True):
        duplicates_detect(chat.pk)
    assert DuplicateFlag.objects.get(ticket=chat).status == FlagStatus.DISMISSED
    assert Message.objects.filter(ticket=chat, channel=Channel.NOTE).count() == 1
    assert announce.call_count == 1


def test_announcement_is_posted_once(mail_ticket, anna, django_capture_on_commit_callbacks):
    """A re-delivered announce task finds the flag announced and posts nothing again."""
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    duplicates_detect(chat.pk, notify=False)
    flag = DuplicateFlag.objects.get(ticket=chat)
    with django_capture_on_commit_callbacks(execute=True):
        assert flags_announce(ticket_id=chat.pk) == [flag.pk]
        assert flags_announce(ticket_id=chat.pk) == []
    assert Message.objects.filter(ticket=chat, channel=Channel.NOTE).count() == 1
    assert len(outbox_deliver()) == 1


def test_lost_announcement_is_queued_again_by_the_next_run(
    mail_ticket, anna, announce, django_capture_on_commit_callbacks
):
    """Broker down when the flag was filed: detection stands, and the next run (the
    ticket's next inbound message) queues the announcement again."""
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    announce.side_effect = ConnectionError("broker down")
    with django_capture_on_commit_callbacks(execute=True):
        assert duplicates_detect(chat.pk).flagged == [mail_ticket.pk]
    assert not Message.objects.filter(ticket=chat, channel=Channel.NOTE).exists()
    announce.side_effect = announce_run
    with django_capture_on_commit_callbacks(execute=True):
        duplicates_detect(chat.pk)
    assert Message.objects.filter(ticket=chat, channel=Channel.NOTE).count() == 1


def test_merged_ticket_gets_no_announcement(mail_ticket, anna, agent):
    """Merged before the task ran: no note lands in the survivor."""
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    duplicates_detect(chat.pk, notify=False)
    services.ticket_merge(source=chat, target=mail_ticket, actor=agent, reason="same")
    assert flags_announce(ticket_id=chat.pk) == []
    assert not Message.objects.filter(channel=Channel.NOTE).exists()


def test_detection_queues_no_announcement_without_notify(
    mail_ticket, anna, announce, django_capture_on_commit_callbacks
):
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    with django_capture_on_commit_callbacks(execute=True):
        assert duplicates_detect(chat.pk, notify=False).flagged == [mail_ticket.pk]
    announce.assert_not_called()


def test_exact_resend_is_merged_and_the_customer_told(
    mail_ticket, anna, django_capture_on_commit_callbacks
):
    """The same mail sent again minutes later joins the first ticket automatically."""
    again = open_ticket(subject="Re: Transfer failing", body=TRANSFER_MAIL, contact=anna)
    with django_capture_on_commit_callbacks(execute=True):
        result = duplicates_detect(again.pk)
    assert result.merged_into == mail_ticket.pk
    again.refresh_from_db()
    assert again.status == Status.MERGED and again.merged_into == mail_ticket
    flag = DuplicateFlag.objects.get(ticket=again)
    assert flag.status == FlagStatus.MERGED and flag.auto_merged
    assert Message.objects.filter(ticket=mail_ticket, merged_from=again).count() == 1
    customer_mail = [m for m in outbox_deliver() if m.to == ["anna@northwind.example"]]
    assert len(customer_mail) == 1
    assert mail_ticket.reference in customer_mail[0].body


def test_auto_merge_can_be_switched_off(mail_ticket, anna, settings):
    settings.DUPLICATES_AUTO_MERGE_EXACT = False
    again = open_ticket(subject="Transfer failing", body=TRANSFER_MAIL, contact=anna)
    result = duplicates_detect(again.pk)
    assert result.merged_into is None and result.flagged == [mail_ticket.pk]
    again.refresh_from_db()
    assert again.status == Status.NEW


def test_exact_resend_after_the_window_is_only_flagged(mail_ticket, anna):
    later = timezone.now() + timedelta(hours=3)
    again = open_ticket(body=TRANSFER_MAIL, contact=anna, occurred_at=later)
    result = duplicates_detect(again.pk)
    assert result.merged_into is None and result.flagged == [mail_ticket.pk]


def test_phone_only_contact_is_merged_without_mail(departments, django_capture_on_commit_callbacks):
    caller = ContactFactory(phone="+31201234567")
    text = "Caller says the shop checkout gives error 502 since noon, order 7781234 lost."
    first = open_ticket(channel=Channel.PHONE, body=text, contact=caller)
    duplicates_detect(first.pk)
    second = open_ticket(channel=Channel.PHONE, body=text, contact=caller)
    with django_capture_on_commit_callbacks(execute=True):
        assert duplicates_detect(second.pk).merged_into == first.pk
    assert outbox_deliver() == []


def test_other_accounts_and_closed_or_merged_tickets_are_not_candidates(mail_ticket, anna):
    """Another account's ticket is compared only when it names the same object (domain,
    URL, address, error code); closed and merged tickets never are."""
    stranger = ContactFactory(account=AccountFactory(), email="eve@example.com")
    theirs = open_ticket(
        body=TRANSFER_MAIL.replace("northwind-shop.nl", "our shop"), contact=stranger
    )
    assert duplicates_detect(theirs.pk).scored == []
    named = open_ticket(body=TRANSFER_MAIL, contact=stranger)
    assert mail_ticket.pk in [c.ticket_id for c in duplicates_detect(named.pk).scored]
    services.ticket_status_set(ticket=mail_ticket, status=Status.CLOSED)
    mine = open_ticket(body=TRANSFER_MAIL, contact=anna)
    assert mail_ticket.pk not in [c.ticket_id for c in duplicates_detect(mine.pk).scored]


def test_tickets_outside_the_window_are_not_candidates(mail_ticket, anna, settings):
    Ticket.objects.filter(pk=mail_ticket.pk).update(created_at=timezone.now() - timedelta(days=15))
    DuplicateBand.objects.filter(ticket=mail_ticket).update(
        created_at=timezone.now() - timedelta(days=15)
    )
    chat = open_ticket(channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    assert duplicates_detect(chat.pk).scored == []


def test_same_account_other_contact_found_through_the_index(mail_ticket, reseller):
    """A colleague's portal form about the same domain is found by its indexed keys."""
    colleague = ContactFactory(account=reseller, email="piet@northwind.example")
    form = open_ticket(
        channel=Channel.PORTAL,
        subject="Domain transfer",
        body="Domain: northwind-shop.nl\nProblem: incoming transfer fails, auth code "
        "invalid while the domain is unlocked",
        contact=colleague,
    )
    result = duplicates_detect(form.pk)
    assert result.flagged == [mail_ticket.pk]


def test_query_count_does_not_grow_with_unrelated_tickets(departments, anna, mail_ticket):
    """Retrieval is an indexed key lookup: other accounts' tickets add no queries."""

    def run() -> int:
        chat = open_ticket(channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
        with CaptureQueriesContext(connection) as ctx:
            duplicates_detect(chat.pk, notify=False, auto_merge=False)
        services.ticket_status_set(ticket=chat, status=Status.CLOSED)
        return len(ctx.captured_queries)

    before = run()
    for i in range(30):
        other = open_ticket(body=TRANSFER_MAIL, contact=ContactFactory(email=f"x{i}@ex.com"))
        duplicates_detect(other.pk, notify=False)
    assert run() == before


def test_flag_merge_moves_messages_and_marks_the_flag(mail_ticket, anna, agent):
    chat = open_ticket(subject="Chat", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    duplicates_detect(chat.pk)
    flag = DuplicateFlag.objects.get(ticket=chat)
    survivor = flag_merge(flag=flag, actor=agent)
    assert survivor == mail_ticket
    flag.refresh_from_db()
    assert flag.status == FlagStatus.MERGED
    assert Message.objects.filter(ticket=mail_ticket, merged_from=chat).exists()
    chat.refresh_from_db()
    assert chat.status == Status.MERGED
    merged_event = chat.events.get(kind="merged")
    assert merged_event.actor == agent and "duplicate" in merged_event.data["reason"]


def test_first_run_is_five_statements(departments, anna, mail_ticket, django_assert_num_queries):
    """Ticket, messages with the contact's addresses and numbers, keys, signature, one
    candidate lookup; the flag insert is the only addition when something matches."""
    other = open_ticket(body="The printer in room 4 jams on every page.", contact=anna)
    with django_assert_num_queries(5):
        assert duplicates_detect(other.pk).flagged == []
    chat = open_ticket(
        subject="Chat with Anna", channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna
    )
    with django_assert_num_queries(6):
        assert duplicates_detect(chat.pk, notify=False).flagged == [mail_ticket.pk]


def test_candidate_without_signature_is_filed_and_found(departments, anna):
    """A ticket whose own detection has not run yet is still a candidate."""
    first = open_ticket(subject="Transfer failing", body=TRANSFER_MAIL, contact=anna)
    chat = open_ticket(channel=Channel.CHAT, body=TRANSFER_CHAT, contact=anna)
    assert duplicates_detect(chat.pk, notify=False).flagged == [first.pk]
    assert TicketSignature.objects.filter(ticket=first).exists()
    assert DuplicateBand.objects.filter(ticket=first).exists()


def test_missing_ticket_is_a_no_op(db):
    assert duplicates_detect(987654).flagged == []


def test_colleagues_of_one_account_by_chat_and_email_are_flagged(departments, reseller):
    """The owner mails, a manager chats an hour later in other words: two contacts of one
    account, no shared key or identifier, and still flagged (issue 15)."""
    owner = ContactFactory(account=reseller, email="irina@teahouse.example")
    manager = ContactFactory(account=reseller, email="pavel@teahouse.example")
    mail_ticket = open_ticket(
        subject="Не проходит оплата картой на сайте",
        body="Здравствуйте!\n\nСо вчерашнего вечера покупатели не могут оплатить заказ картой: "
        "открывается страница банка и сразу пишет «Платёж отклонён».\n\n--\nИрина",
        contact=owner,
    )
    duplicates_detect(mail_ticket.pk, notify=False)
    chat = open_ticket(
        subject="Чат: оплата",
        channel=Channel.CHAT,
        body="[12:47] Павел: добрый день, я менеджер магазина\n"
        "[12:47] Павел: у нас с утра оплата картой не работает\n"
        "[12:48] Оператор Алина: Какую ошибку видит покупатель?\n"
        "[12:49] Павел: пишет платеж отклонен. Ирина вам утром писала на почту",
        contact=manager,
    )
    result = duplicates_detect(chat.pk, notify=False)
    assert result.flagged == [mail_ticket.pk]
    flag = DuplicateFlag.objects.get(ticket=chat, candidate=mail_ticket)
    assert "same account" in flag.reasons
    assert "refers to an earlier report" in flag.reasons


def test_the_announcement_mails_the_assignees_of_the_flags_it_holds(
    mail_ticket, anna, agent, django_capture_on_commit_callbacks
):
    """The announce task hands the flags, tickets and candidates it read to the assignees'
    mails (they were read again with their assignees): the mails are the ones read by the
    flags' ids give, and no flag is read twice."""
    from duplicates import notifications
    from duplicates.tasks import announce as task
    from outbox.models import MailKind, OutgoingMail

    chats = _flagged_chats(anna, range(3))
    services.ticket_assign(ticket=chats[1], assignee=agent)  # a pair assigned on both sides
    flags = DuplicateFlag.objects.filter(ticket__in=chats)
    columns = ("kind", "to", "subject", "body_text", "headers", "ticket_id")
    alerts = OutgoingMail.objects.filter(kind=MailKind.DUPLICATE_ALERT).order_by("pk")
    assigned = [f for f in flags.select_related("ticket", "candidate") if f.ticket.assignee_id]
    assigned += [f for f in flags if not f.ticket.assignee_id and f.candidate.assignee_id]
    assert notifications.tell_assignees(flag_ids=[f.pk for f in flags]) == len(assigned) > 1
    by_id = list(alerts.values_list(*columns))
    alerts.delete()
    with django_capture_on_commit_callbacks(execute=True):  # the notes' receivers after
        with CaptureQueriesContext(connection) as queries:
            assert task.run([c.pk for c in chats]) == flags.count()
    assert list(alerts.values_list(*columns)) == by_id
    flag_table = DuplicateFlag._meta.db_table
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and flag_table in q["sql"]]
    assert len(reads) == 1, reads  # the one that locks them (where the database can)
