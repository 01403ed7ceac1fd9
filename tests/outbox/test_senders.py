"""Every place that mails goes through the outbox: stored with the change that causes
it, with the right headers; nothing talks to a mail server inside the change."""

from __future__ import annotations

import smtplib

import pytest
import requests
from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError
from django.db import transaction
from django.urls import reverse

from duplicates.services import duplicates_detect
from outbox.delivery_errors import classify
from outbox.models import MailKind, MailStatus, OutgoingMail
from outbox.services import automatic_refusal
from tests.channels_app.mail_helpers import deliver as deliver_mail
from tests.channels_app.mail_helpers import make_mail
from tests.outbox_helpers import deliver
from tickets.models import Direction, Message, Ticket
from tickets.services import ticket_reply

from ..factories import open_ticket

pytestmark = pytest.mark.django_db

RESENT = "Hello,\n\nThe transfer of northwind-shop.nl keeps failing: auth code invalid.\n\nAnna"


def test_the_auto_merge_notice_is_auto_submitted_and_rate_limited(departments, anna, settings):
    """An exact re-send merged automatically tells the customer once per re-send, marked
    Auto-Submitted: auto-replied, and never more than the hourly limit per address."""
    settings.SUPPORTDESK_AUTO_REPLY_PER_HOUR = 2
    first = open_ticket(subject="Transfer failing", body=RESENT, contact=anna)
    duplicates_detect(first.pk)
    for _ in range(3):
        again = open_ticket(subject="Transfer failing", body=RESENT, contact=anna)
        assert duplicates_detect(again.pk).merged_into == first.pk
    notices = OutgoingMail.objects.filter(kind=MailKind.MERGE_NOTICE)
    assert notices.count() == 2  # the third re-send is merged but not answered
    sent = deliver()
    assert len(sent) == 2
    assert {m.extra_headers["Auto-Submitted"] for m in sent} == {"auto-replied"}
    assert all(first.reference in m.subject for m in sent)


def test_acknowledgements_count_towards_the_same_hourly_limit(departments, settings):
    settings.SUPPORTDESK_AUTO_REPLY_PER_HOUR = 1
    deliver_mail(make_mail(sender="carol@example.org"))  # acknowledged
    assert OutgoingMail.objects.filter(kind=MailKind.AUTO_REPLY).count() == 1
    assert automatic_refusal("Carol@Example.org") == (
        "1 automatic mails went to this address in the last hour"
    )
    assert automatic_refusal("no-reply@example.org")


def test_an_agent_reply_is_stored_with_its_message_and_undone_with_it(departments, agent):
    deliver_mail(make_mail(message_id="cust-9@example.org"))
    ticket = Ticket.objects.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_reply(ticket=ticket, body="On it.", actor=agent)
        raise RuntimeError("the request failed after the reply")
    assert not OutgoingMail.objects.filter(kind=MailKind.AGENT_REPLY).exists()
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()
    reply = ticket_reply(ticket=ticket, body="On it.", actor=agent)
    mail = OutgoingMail.objects.get(kind=MailKind.AGENT_REPLY)
    assert mail.timeline_message == reply and mail.message_id == reply.external_id
    assert mail.headers["In-Reply-To"] == "<cust-9@example.org>"
    assert mail.status == MailStatus.PENDING  # a worker sends it


def test_an_sla_alert_mail_is_stored_with_the_alert(presets, agent):
    from datetime import timedelta

    from django.utils import timezone

    from sla.models import SlaAlert
    from sla.scan import scan_deadlines
    from sla.services import ticket_sla_recompute
    from tickets.services import ticket_assign

    agent.email = "alice@example.com"
    agent.save(update_fields=["email"])
    ticket = open_ticket(channel="chat", body="Nobody can pay")
    ticket_assign(ticket=ticket, assignee=agent)
    ticket_sla_recompute(ticket.pk)
    scan_deadlines(now=timezone.now() + timedelta(days=30))
    alert = SlaAlert.objects.filter(ticket=ticket).first()
    assert alert is not None and alert.notified
    mail = OutgoingMail.objects.get(kind=MailKind.SLA_ALERT)
    assert mail.to[0] == "alice@example.com" and mail.headers["Auto-Submitted"] == "auto-generated"


def test_failed_mails_show_in_the_admin_and_can_be_sent_again(admin, departments):
    deliver_mail(make_mail(sender="carol@example.org"))
    mail = OutgoingMail.objects.get()
    OutgoingMail.objects.filter(pk=mail.pk).update(
        status=MailStatus.FAILED, error="550 5.1.1 No such user here", attempts=1
    )
    page = admin.get("/admin/outbox/outgoingmail/?status__exact=failed").content.decode()
    assert "carol@example.org" in page and "550 5.1.1 No such user here" in page
    response = admin.post(
        "/admin/outbox/outgoingmail/",
        {"action": "send_again", "_selected_action": [mail.pk]},
        follow=True,
    )
    assert "1 mail queued to be sent again." in response.content.decode()
    mail.refresh_from_db()
    assert mail.status == MailStatus.PENDING and mail.error == ""
    assert [m.to for m in deliver()] == [["carol@example.org"]]
    assert OutgoingMail.objects.get(pk=mail.pk).status == MailStatus.SENT


def test_the_admin_hides_a_sign_in_link(admin, client, anna):
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    mail = OutgoingMail.objects.get(kind=MailKind.MAGIC_LINK)
    assert "/portal/sign-in/" in mail.body_text and mail.sensitive
    page = admin.get(reverse("admin:outbox_outgoingmail_change", args=[mail.pk])).content
    assert b"/portal/sign-in/" not in page and b"hidden: it holds a sign-in link" in page


def esp_answer(status: int) -> AnymailRequestsAPIError:
    """The error anymail raises for an ESP's HTTP answer (the ESP's API is third-party
    HTTP: its answer is built here, not fetched)."""
    response = requests.Response()
    response.status_code, response.reason, response._content = status, "Status", b"{}"
    return AnymailRequestsAPIError("ESP API response", response=response)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"greylisted")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"unknown"), "b@x": (450, b"")}), False),
        (smtplib.SMTPDataError(451, b"try later"), True),
        (smtplib.SMTPDataError(554, b"spam"), False),
        (smtplib.SMTPSenderRefused(553, b"not yours", "desk@x"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPServerDisconnected("lost"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError("timed out"), True),
        (esp_answer(503), True),
        (esp_answer(429), True),
        (esp_answer(400), False),
        (AnymailRequestsAPIError("no answer"), True),
        (AnymailRecipientsRefused("all refused"), False),
        (ValueError("bad header"), False),
    ],
)
def test_only_temporary_delivery_errors_are_retried(exc, transient):
    error = classify(exc)
    assert error.transient is transient and error.reason
