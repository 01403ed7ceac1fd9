"""Mailbox health: the ledger, /healthz, `manage.py mailbox_status`, the admin page, and
the beat scan that tells the admins (mail through the outbox, workspace notification)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from mailboxes.health import mailboxes_health, scan_health
from mailboxes.models import AlertKind, MailboxAlert
from mailboxes.poll import poll_mailbox
from outbox.models import MailKind, OutgoingMail
from workspace.models import Notification, NotificationKind

from ..channels_app.mail_helpers import make_mail
from ..factories import AgentFactory
from .conftest import make_mailbox

pytestmark = pytest.mark.django_db(transaction=True)  # the alert's notice follows its commit


@pytest.fixture
def mailbox_admin(db):
    return AgentFactory(username="postmaster", email="postmaster@desk.example", is_superuser=True)


def test_a_stalled_mailbox_alerts_the_admins_then_recovers_and_backfills(
    private_dovecot, departments, mailbox_admin, settings, imap_timeout
):
    """Stop the server: no successful poll for the (shortened) threshold raises one alert
    (a mail and a workspace notification per admin). Mail delivered while it is down is
    all stored once it is back, none twice, and the alert is resolved with a notice."""
    settings.SUPPORTDESK_MAILBOX_STALLED_MINUTES = 3
    settings.SUPPORTDESK_MAILBOX_ERROR_STREAK = 1000  # this test is about the stall
    server = private_dovecot
    mailbox = make_mailbox(server, departments)
    user = mailbox.username
    server.deliver(user, make_mail(subject="before the outage"))
    assert poll_mailbox(mailbox.pk).stored == 1
    server.stop()
    for n in range(5):  # the MTA keeps delivering into the Maildir
        server.drop_into_maildir(user, make_mail(subject=f"during the outage {n}"))
    start = timezone.now()
    with time_machine.travel(start, tick=True) as clock:
        for minute in range(5):
            report = poll_mailbox(mailbox.pk)
            assert "connection" in report.error.lower(), report.error
            scan_health()
            if minute == 2:
                assert MailboxAlert.objects.count() == 0  # not yet: within 3 minutes
            clock.shift(timedelta(minutes=1))
        alert = MailboxAlert.objects.get()
        assert alert.kind == AlertKind.STALLED and alert.resolved_at is None
        assert (mailboxes_health()[0].state, json_health()["status"]) == ("stalled", "degraded")
        scan_health()
        assert MailboxAlert.objects.count() == 1  # raised once per incident
        mail = OutgoingMail.objects.get(kind=MailKind.MAILBOX_ALERT)
        assert mail.to == ["postmaster@desk.example"] and mailbox.name in mail.subject
        notice = Notification.objects.get(recipient=mailbox_admin)
        assert notice.kind == NotificationKind.MAILBOX_ALERT
        server.start()
        back = poll_mailbox(mailbox.pk)
        assert (back.stored, back.error) == (5, "")
        scan_health()
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert OutgoingMail.objects.filter(kind=MailKind.MAILBOX_ALERT).count() == 2
    assert Notification.objects.filter(recipient=mailbox_admin).count() == 2
    from channels_app.models import InboundRecord

    subjects = [_subject(r.raw) for r in InboundRecord.objects.all()]
    assert len(subjects) == 6 == len(set(subjects))
    assert json_health()["mailboxes"]["ok"] is True


def _subject(raw: bytes) -> bytes:
    return bytes(raw).split(b"Subject: ")[1].split(b"\n")[0].strip()


def json_health() -> dict:
    return Client().get("/healthz").json()


def test_repeated_errors_raise_a_failing_alert(dovecot, departments, mailbox_admin, settings):
    settings.SUPPORTDESK_MAILBOX_ERROR_STREAK = 3
    mailbox = make_mailbox(dovecot, departments)
    mailbox.set_password("wrong")
    mailbox.save()
    for _ in range(3):
        assert "refused the sign-in" in poll_mailbox(mailbox.pk).error
    assert scan_health() == {"raised": 1, "resolved": 0}
    alert = MailboxAlert.objects.get()
    assert alert.kind == AlertKind.FAILING and "refused the sign-in" in alert.detail


def test_health_in_healthz_command_and_admin(dovecot, departments, admin, capsys):
    mailbox = make_mailbox(dovecot, departments, move_to="Missing")
    dovecot.deliver(mailbox.username, make_mail())
    poll_mailbox(mailbox.pk)
    health = json_health()["mailboxes"]
    assert health["ok"] is True  # a warning, not a stop
    (entry,) = health["mailboxes"]
    assert entry["state"] == "warning" and entry["stored_today"] == 1
    assert "error" not in json.dumps(entry)  # /healthz is public: no error text
    call_command("mailbox_status")
    out = capsys.readouterr().out
    assert mailbox.name in out and "warning" in out and "does not exist" in out
    page = admin.get("/admin/mailboxes/mailbox/")
    assert page.status_code == 200 and b"warning" in page.content
    line = mailbox.department.line  # the inbox's support line (none: every line)
    assert (str(line) if line else "every line").encode() in page.content
    change = admin.get(f"/admin/mailboxes/mailbox/{mailbox.pk}/change/")
    assert b"does not exist" in change.content
    assert dovecot.passwords[mailbox.username].encode() not in change.content


def test_mailbox_status_exits_2_when_a_mailbox_is_stalled(dovecot, departments, settings):
    mailbox = make_mailbox(dovecot, departments)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        with pytest.raises(SystemExit) as stop:
            call_command("mailbox_status", "--json")
    assert stop.value.code == 2
    assert mailbox.name


@pytest.mark.parametrize("zone", ["UTC", "Europe/Amsterdam"])
def test_a_stalled_alert_names_the_desks_zone_once(settings, zone):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from mailboxes.health import STALLED, _detail
    from mailboxes.models import Mailbox

    settings.TIME_ZONE = zone
    since = datetime(2026, 12, 6, 9, 30, tzinfo=ZoneInfo("UTC"))
    text = _detail(Mailbox(name="support", last_success_at=since), STALLED, timezone.now())
    local = since.astimezone(ZoneInfo(zone))
    assert f"since {local:%Y-%m-%d %H:%M} ({zone})." in text
    assert text.count(zone) == 1
