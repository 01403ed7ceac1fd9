"""Mailbox health: what each mailbox's ledger says, and the beat scan that alerts admins.

A mailbox is ``stalled`` when it has had no successful poll for
SUPPORTDESK_MAILBOX_STALLED_MINUTES (counted from its creation before its first poll),
``failing`` when SUPPORTDESK_MAILBOX_ERROR_STREAK polls in a row ended with an error (a
wrong password, a missing move folder…), ``warning`` when the last poll had an error or
passed a mail it could not read, ``ok`` otherwise. The scan raises one alert per incident:
a mail to every mailbox admin (through the outbox) and a notification in their workspace,
and the same again when the mailbox has recovered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from outbox.models import MailKind
from outbox.services import AUTO_GENERATED, MailOut, mails_queue

from .models import AlertKind, Mailbox, MailboxAlert, MailboxMessage
from .signals import mailbox_alert

OK, WARNING, FAILING, STALLED, INACTIVE = "ok", "warning", "failing", "stalled", "inactive"
PROBLEMS = (STALLED, FAILING)


@dataclass(frozen=True)
class Health:
    name: str
    state: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    minutes_since_success: float | None
    last_error: str
    error_streak: int
    move_error: str
    lag_seconds: float | None
    stored_today: int

    def public(self) -> dict:
        """What /healthz shows anyone: no error text (it may name hosts and accounts)."""
        return {
            "name": self.name,
            "state": self.state,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "lag_seconds": self.lag_seconds,
            "stored_today": self.stored_today,
        }

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("last_poll_at", "last_success_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def state_of(mailbox: Mailbox, now: datetime) -> str:
    if not mailbox.is_active:
        return INACTIVE
    since = mailbox.last_success_at or mailbox.created_at
    if now - since > timedelta(minutes=settings.SUPPORTDESK_MAILBOX_STALLED_MINUTES):
        return STALLED
    if mailbox.error_streak >= settings.SUPPORTDESK_MAILBOX_ERROR_STREAK:
        return FAILING
    if mailbox.last_error or mailbox.move_error:
        return WARNING
    return OK


def start_of_today(now: datetime) -> datetime:
    """Midnight of today in the desk's zone (settings.TIME_ZONE)."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def mailboxes_health(mailboxes: list[Mailbox] | None = None) -> list[Health]:
    """Return the health of ``mailboxes`` (all of them by default), in two queries."""
    now = timezone.now()
    if mailboxes is None:
        mailboxes = list(Mailbox.objects.order_by("name"))
    today = dict(
        MailboxMessage.objects.filter(
            mailbox__in=[m.pk for m in mailboxes],
            stored_at__gte=start_of_today(now),
            record__isnull=False,
        )
        .values("mailbox")
        .annotate(n=Count("pk"))
        .values_list("mailbox", "n")
    )
    out = []
    for mailbox in mailboxes:
        since = mailbox.last_success_at
        out.append(
            Health(
                name=mailbox.name,
                state=state_of(mailbox, now),
                last_poll_at=mailbox.last_poll_at,
                last_success_at=since,
                minutes_since_success=round((now - since).total_seconds() / 60, 1)
                if since
                else None,
                last_error=mailbox.last_error,
                error_streak=mailbox.error_streak,
                move_error=mailbox.move_error,
                lag_seconds=mailbox.lag_seconds,
                stored_today=today.get(mailbox.pk, 0),
            )
        )
    return out


# --- the beat scan -----------------------------------------------------------------------


def scan_health() -> dict[str, int]:
    """Raise an alert for each active mailbox newly stalled or failing and resolve those
    that recovered; return how many of each."""
    now = timezone.now()
    raised = resolved = 0
    open_alerts = {a.mailbox_id: a for a in MailboxAlert.objects.filter(resolved_at=None)}
    for mailbox in Mailbox.objects.order_by("pk"):
        state = state_of(mailbox, now)
        alert = open_alerts.get(mailbox.pk)
        if state in PROBLEMS and alert is None:
            raised += _raise(mailbox, state, now)
        elif state not in PROBLEMS and alert is not None:
            resolved += _resolve(alert, mailbox, now)
    return {"raised": raised, "resolved": resolved}


def _detail(mailbox: Mailbox, state: str, now: datetime) -> str:
    if state == STALLED:
        since = mailbox.last_success_at
        # The desk's zone by name, once (with %Z too, UTC desks read "UTC (UTC)").
        when = (
            f"since {timezone.localtime(since):%Y-%m-%d %H:%M} ({settings.TIME_ZONE})"
            if since
            else "ever"
        )
        text = f"Mailbox {mailbox.name} has had no successful poll {when}."
    else:
        text = f"Mailbox {mailbox.name}: {mailbox.error_streak} polls in a row ended with an error."
    if mailbox.last_error:
        text += f"\nLast error: {mailbox.last_error}"
    return text


def _raise(mailbox: Mailbox, state: str, now: datetime) -> int:
    detail = _detail(mailbox, state, now)
    kind = AlertKind.STALLED if state == STALLED else AlertKind.FAILING
    try:
        with transaction.atomic():
            alert = MailboxAlert.objects.create(mailbox=mailbox, kind=kind, detail=detail)
            subject = f"Mailbox {mailbox.name}: {alert.get_kind_display().lower()}"
            _tell(alert, "raised", subject, detail)
    except IntegrityError:  # raised meanwhile by another scan
        return 0
    return 1


def _resolve(alert: MailboxAlert, mailbox: Mailbox, now: datetime) -> int:
    with transaction.atomic():
        if not MailboxAlert.objects.filter(pk=alert.pk, resolved_at=None).update(resolved_at=now):
            return 0
        text = f"Mailbox {mailbox.name} is polled again"
        if mailbox.last_success_at:
            last = timezone.localtime(mailbox.last_success_at)
            text += f" (last success {last:%H:%M} {settings.TIME_ZONE})"
        _tell(alert, "resolved", f"Mailbox {mailbox.name}: working again", text + ".")
    return 1


def alert_recipients() -> list:
    """Active staff who may change mailboxes (superusers included), with an address."""
    users = get_user_model().objects.with_perm(
        "mailboxes.change_mailbox",
        include_superusers=True,
        backend="django.contrib.auth.backends.ModelBackend",
    )
    return list(users.filter(is_staff=True).exclude(email="").order_by("pk"))


def _tell(alert: MailboxAlert, state: str, subject: str, text: str) -> None:
    """Mail the admins (outbox, same transaction) and announce it after commit."""
    users = alert_recipients()
    base = getattr(settings, "SUPPORTDESK_BASE_URL", "").rstrip("/")
    body = f"{text}\n\nMailbox health in the admin: {base}/admin/mailboxes/mailbox/\n"
    mails_queue(
        [
            MailOut(
                kind=MailKind.MAILBOX_ALERT,
                to=[user.email],
                subject=subject,
                body_text=body,
                headers=dict(AUTO_GENERATED),
            )
            for user in users
        ]
    )
    ids = [user.pk for user in users]
    transaction.on_commit(
        lambda: mailbox_alert.send(
            sender=MailboxAlert, alert=alert, state=state, recipients=ids, text=subject
        )
    )
