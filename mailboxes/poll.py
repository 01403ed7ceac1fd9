"""One poll of one mailbox: read every mail above the high-water mark, store it raw, then
move it (or mark it read); now and then compare the server with what was stored.

Rules (issue 16):
- Mail is found by UID above the highest UID stored, never by "unseen": a mail someone
  read in another client is still new to the desk.
- Each mail is stored (``inbound_store``) and recorded with its UID in one transaction that
  also moves the high-water mark, fenced by this poll's lease: a poll that lost its lease
  (it hung longer than the lease) cannot write. Stored mails are queued for processing as
  the poll goes, a few at a time.
- One mail the server cannot hand out is recorded with the reason and passed; the
  reconciliation pass tries it again. A connection that drops or stops answering ends
  the poll at once (never the rest of the mails on a dead socket); what was stored stays.
- A changed UIDVALIDITY (the server renumbered the folder) starts a resync of the last
  ``backfill_days``: every mail whose Message-ID (or content, without one) was stored
  before is linked, not stored again.
- Moving happens only after storing, with MOVE or COPY + UID EXPUNGE of exactly those
  UIDs. A missing or refusing move folder is an error shown on the mailbox; the mails
  stay in the folder, already stored, and never block new mail (it is found above the
  high-water mark). Once the folder works, the mails left behind are moved.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from channels_app.inbound import inbound_enqueue_many, inbound_store
from tickets.models import Channel

from . import oauth
from .crypto import CredentialKeyError
from .imap import CommandFailed, ConnectionLost, Endpoint, ImapSession, MailboxError, MailMeta
from .keys import key_of, message_id_key
from .models import AuthMethod, Mailbox, MailboxMessage, Security

logger = logging.getLogger(__name__)
CHUNK = 50  # mails whose headers are read in one FETCH
QUEUE_EVERY = 10  # stored mails queued for processing together
QUEUE_AFTER_SECONDS = 2.0
MOVE_PENDING_LIMIT = 2000
MAX_MAIL_ATTEMPTS = 5  # a mail the server cannot hand out is tried this often
PASS_AFTER_LOST_CONNECTIONS = 3


class LockLost(Exception):  # noqa: N818 - an outcome, not a bug
    """Another poll holds the mailbox now (this one outlived its lease)."""


@dataclass
class PollReport:
    """What one poll did (also the task's result)."""

    mailbox: str
    skipped: str = ""
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    moved: int = 0
    backfilled: int = 0
    resynced: bool = False
    reconciled: bool = False
    error: str = ""
    move_error: str = ""
    failed_mails: list[str] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "lags" and v not in ("", [], False)}


# --- the lease ---------------------------------------------------------------------------


def lease_seconds() -> int:
    return settings.SUPPORTDESK_IMAP_LOCK_SECONDS


def lock_acquire(mailbox_id: int) -> str | None:
    """Take the mailbox's lease (one conditional UPDATE: PostgreSQL and SQLite alike);
    return its token, or None when another poll holds it."""
    token, now = uuid.uuid4().hex, timezone.now()
    taken = (
        Mailbox.objects.filter(pk=mailbox_id)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(lock_token=token, locked_until=now + timedelta(seconds=lease_seconds()))
    )
    return token if taken else None


def lock_release(mailbox_id: int, token: str) -> None:
    Mailbox.objects.filter(pk=mailbox_id, lock_token=token).update(lock_token="", locked_until=None)


def _fenced(mailbox_id: int, token: str, **changes: object) -> None:
    """Apply ``changes`` and renew the lease if this poll still holds it; else LockLost.
    Called inside the transaction that stores a mail, so a stale poll stores nothing."""
    renewed = timezone.now() + timedelta(seconds=lease_seconds())
    if not Mailbox.objects.filter(pk=mailbox_id, lock_token=token).update(
        locked_until=renewed, **changes
    ):
        raise LockLost(f"mailbox {mailbox_id}: another poll took the lease")


# --- the poll ----------------------------------------------------------------------------


def mailbox_poll(mailbox_id: int, *, reconcile: bool | None = None) -> PollReport:
    """Poll one mailbox if no other poll holds it; return what happened.

    ``reconcile`` None: compare with the server when SUPPORTDESK_IMAP_RECONCILE_MINUTES
    have passed since the last comparison. Errors are recorded on the mailbox (its
    health), not raised.
    """
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    token = lock_acquire(mailbox_id)
    if token is None:
        return PollReport(mailbox.name, skipped="another poll of this mailbox is running")
    mailbox.refresh_from_db()
    report = PollReport(mailbox.name)
    success = False
    try:
        try:
            with open_session(mailbox) as session:
                _Poll(mailbox, session, token, report).run(reconcile)
            success = True
        except LockLost as exc:
            report.skipped = str(exc)
        except (MailboxError, CredentialKeyError) as exc:
            report.error = str(exc)
            logger.warning("mailbox %s: %s", mailbox.name, exc)
        except SoftTimeLimitExceeded:
            report.error = "The poll ran out of time; what was stored is kept."
        _record_health(mailbox, report, success=success)
    finally:
        lock_release(mailbox_id, token)
    return report


def open_session(mailbox: Mailbox) -> ImapSession:
    """Connect and sign in to ``mailbox``."""
    endpoint = Endpoint(
        host=mailbox.host,
        port=mailbox.port,
        starttls=mailbox.security == Security.STARTTLS,
        ca_pem=mailbox.ca_certificates.strip(),
    )
    session = ImapSession(endpoint, timeout=settings.SUPPORTDESK_IMAP_TIMEOUT_SECONDS)
    try:
        if mailbox.auth == AuthMethod.PASSWORD:
            session.login_password(mailbox.username, mailbox.password())
        else:
            session.login_xoauth2(mailbox.username, oauth.access_token(mailbox))
    except BaseException:
        session.__exit__(None, None, None)
        raise
    return session


class _Poll:
    def __init__(
        self, mailbox: Mailbox, session: ImapSession, token: str, report: PollReport
    ) -> None:
        self.mailbox, self.session, self.token, self.report = mailbox, session, token, report
        self.move_ok = False
        self.queue: list[int] = []
        self.queued_at = time.monotonic()

    @property
    def _validity(self) -> int:
        """The folder's UIDVALIDITY, which ``run`` stores before it reads any message."""
        assert self.mailbox.uidvalidity is not None
        return self.mailbox.uidvalidity

    def run(self, reconcile: bool | None) -> None:
        mailbox, session = self.mailbox, self.session
        validity, uidnext = session.select(mailbox.folder)
        window_start = timezone.now() - timedelta(days=mailbox.backfill_days)
        if mailbox.uidvalidity != validity:
            # First poll, or the server renumbered the folder: read the window again,
            # link what was stored before, store the rest. Everything older than the
            # window stays below the high-water mark.
            self.report.resynced = mailbox.uidvalidity is not None
            if self.report.resynced:
                logger.warning(
                    "mailbox %s: UIDVALIDITY %s -> %s, resync",
                    mailbox.name,
                    mailbox.uidvalidity,
                    validity,
                )
            high = (uidnext - 1) if uidnext else max(session.uids_above(0), default=0)
            with transaction.atomic():
                _fenced(mailbox.pk, self.token, uidvalidity=validity, last_uid=high)
            mailbox.uidvalidity, mailbox.last_uid = validity, high
            self.move_ok = self._check_move_folder()
            self._take(session.uids_since(window_start), known_first=True)
            self._take(session.uids_above(mailbox.last_uid))
            self._reconciled()
            return
        self.move_ok = self._check_move_folder()
        if self.move_ok:
            self._move_left_behind()
        self._take(session.uids_above(mailbox.last_uid))
        if reconcile or (reconcile is None and self._reconcile_due()):
            self._reconcile(window_start)

    # --- reading -------------------------------------------------------------------------

    def _take(self, uids: list[int], *, known_first: bool = False) -> int:
        """Store the mails ``uids`` (ascending) that were not stored before; return how
        many. ``known_first``: read each Message-ID before the mail, so mail stored
        before (a resync, a reconciliation) is linked without downloading it again."""
        stored_before = self.report.stored
        for start in range(0, len(uids), CHUNK):
            chunk = uids[start : start + CHUNK]
            metas = self.session.fetch_meta(chunk)
            done: list[int] = []
            for uid in chunk:
                meta = metas.get(uid)
                if meta is None:  # expunged by someone else meanwhile
                    self._advance(uid)
                    continue
                try:
                    taken = self._take_one(meta, known_first=known_first)
                except ConnectionLost as exc:
                    # Servers drop the connection on a mail they cannot read (dovecot
                    # does): counted against that mail, so it cannot block the mailbox.
                    self._record_failure(meta, str(exc), lost=True)
                    raise
                if taken:
                    done.append(uid)
            self._flush_queue(force=True)
            self._after_store(done)
        return self.report.stored - stored_before

    def _take_one(self, meta: MailMeta, *, known_first: bool) -> bool:
        """Store or link one mail; return whether it is in the desk now."""
        self.report.seen += 1
        if known_first:
            header = self.session.fetch_meta([meta.uid], message_ids=True).get(meta.uid)
            key = message_id_key(header.message_id) if header else ""
            if key and (record_id := self._known(key)):
                self._record_row(meta, key, record_id)
                return True
        try:
            raw = self.session.fetch_body(meta.uid)
        except CommandFailed as exc:  # this mail only: recorded, passed, tried again later
            self._record_failure(meta, str(exc))
            return False
        key = key_of(raw)
        if record_id := self._known(key):
            self._record_row(meta, key, record_id)
            return True
        with transaction.atomic():
            _fenced(self.mailbox.pk, self.token, last_uid=Greatest(F("last_uid"), meta.uid))
            record, created = inbound_store(
                channel=Channel.EMAIL, source=self.mailbox.source, raw=raw, enqueue=False
            )
            self._row(meta, key, record.pk)
        self.mailbox.last_uid = max(self.mailbox.last_uid, meta.uid)
        if created:
            self.report.stored += 1
            self.queue.append(record.pk)
            if meta.internal_date is not None:
                self.report.lags.append((timezone.now() - meta.internal_date).total_seconds())
            self._flush_queue()
        else:
            self.report.duplicates += 1
        return True

    def _known(self, key: str) -> int | None:
        return (
            MailboxMessage.objects.filter(mailbox=self.mailbox, key=key, record__isnull=False)
            .values_list("record_id", flat=True)
            .first()
        )

    def _record_row(self, meta: MailMeta, key: str, record_id: int) -> None:
        """Link a mail stored before (another UID, another UIDVALIDITY) to this UID."""
        with transaction.atomic():
            _fenced(self.mailbox.pk, self.token, last_uid=Greatest(F("last_uid"), meta.uid))
            self._row(meta, key, record_id)
        self.mailbox.last_uid = max(self.mailbox.last_uid, meta.uid)
        self.report.duplicates += 1

    def _row(self, meta: MailMeta, key: str, record_id: int) -> None:
        MailboxMessage.objects.update_or_create(
            mailbox=self.mailbox,
            uidvalidity=self._validity,
            uid=meta.uid,
            defaults={
                "key": key,
                "record_id": record_id,
                "internal_date": meta.internal_date,
                "stored_at": timezone.now(),
                "error": "",
            },
        )

    def _record_failure(self, meta: MailMeta, error: str, *, lost: bool = False) -> None:
        """Count a failed attempt on one mail. A mail the server answered with an error
        is passed at once; one that cost the connection is passed after
        PASS_AFTER_LOST_CONNECTIONS polls died on it (a dropped network would otherwise
        pass good mail). Passed mail waits for the reconciliation pass."""
        logger.warning("mailbox %s UID %s: %s", self.mailbox.name, meta.uid, error)
        if not lost:
            self.report.failed_mails.append(f"UID {meta.uid}: {error}")
        row = MailboxMessage.objects.filter(
            mailbox=self.mailbox, uidvalidity=self._validity, uid=meta.uid
        ).first()
        attempts = (row.attempts if row else 0) + 1
        passed = not lost or attempts >= PASS_AFTER_LOST_CONNECTIONS
        with transaction.atomic():
            if passed:
                _fenced(self.mailbox.pk, self.token, last_uid=Greatest(F("last_uid"), meta.uid))
            else:
                _fenced(self.mailbox.pk, self.token)
            row, _ = MailboxMessage.objects.get_or_create(
                mailbox=self.mailbox,
                uidvalidity=self._validity,
                uid=meta.uid,
                defaults={"internal_date": meta.internal_date},
            )
            MailboxMessage.objects.filter(pk=row.pk).update(
                error=error[:2000], attempts=F("attempts") + 1
            )
        if passed:
            self.mailbox.last_uid = max(self.mailbox.last_uid, meta.uid)
            if lost:
                self.report.failed_mails.append(
                    f"UID {meta.uid}: passed after {attempts} lost connections ({error})"
                )

    def _advance(self, uid: int) -> None:
        if uid > self.mailbox.last_uid:
            with transaction.atomic():
                _fenced(self.mailbox.pk, self.token, last_uid=Greatest(F("last_uid"), uid))
            self.mailbox.last_uid = uid

    def _flush_queue(self, *, force: bool = False) -> None:
        """Queue stored mails for processing as the poll goes (not once it ends)."""
        if not self.queue:
            return
        waited = time.monotonic() - self.queued_at
        if force or len(self.queue) >= QUEUE_EVERY or waited >= QUEUE_AFTER_SECONDS:
            inbound_enqueue_many(self.queue)  # outside a transaction: sent now
            self.queue, self.queued_at = [], time.monotonic()

    # --- after storing -----------------------------------------------------------------------

    def _check_move_folder(self) -> bool:
        move_to = self.mailbox.move_to
        if not move_to:
            return False
        if not self.session.folder_exists(move_to):
            self.report.move_error = (
                f"The move folder {move_to!r} does not exist on the server: create it or "
                f"correct the mailbox's move-to folder. Mail is stored and stays in "
                f"{self.mailbox.folder!r} meanwhile."
            )
            return False
        return True

    def _after_store(self, uids: list[int]) -> None:
        if not uids:
            return
        if self.move_ok:
            try:
                self.session.move(uids, self.mailbox.move_to)
            except CommandFailed as exc:
                self.move_ok = False
                self.report.move_error = (
                    f"Mail could not be moved to {self.mailbox.move_to!r}: {exc}. It is stored "
                    f"and stays in {self.mailbox.folder!r}; it is moved once the folder works."
                )
                return
            self._mark_moved(uids)
        elif self.mailbox.mark_seen and not self.mailbox.move_to:
            try:
                self.session.mark_seen(uids)
            except CommandFailed as exc:  # stored already: being unread harms nothing
                logger.warning("mailbox %s: %s", self.mailbox.name, exc)

    def _mark_moved(self, uids: list[int]) -> None:
        MailboxMessage.objects.filter(
            mailbox=self.mailbox, uidvalidity=self._validity, uid__in=uids
        ).update(moved=True)
        self.report.moved += len(uids)

    def _move_left_behind(self) -> None:
        """Move mails stored while the move folder was missing or refusing."""
        uids = list(
            MailboxMessage.objects.filter(
                mailbox=self.mailbox,
                uidvalidity=self._validity,
                moved=False,
                record__isnull=False,
            )
            .order_by("uid")
            .values_list("uid", flat=True)[:MOVE_PENDING_LIMIT]
        )
        for start in range(0, len(uids), 500):
            self._after_store(uids[start : start + 500])
            if not self.move_ok:
                return

    # --- reconciliation -------------------------------------------------------------------------

    def _reconcile_due(self) -> bool:
        last = self.mailbox.last_reconciled_at
        every = timedelta(minutes=settings.SUPPORTDESK_IMAP_RECONCILE_MINUTES)
        return last is None or timezone.now() - last >= every

    def _reconcile(self, since: datetime) -> None:
        """Store every mail of the window the server has and the desk does not (a mail
        passed because the server could not hand it out, one stored by a poll that was
        cut off before its row): the gaps below the high-water mark."""
        on_server = [u for u in self.session.uids_since(since) if u <= self.mailbox.last_uid]
        known: set[int] = set()
        for start in range(0, len(on_server), 500):
            part = on_server[start : start + 500]
            known |= set(
                MailboxMessage.objects.filter(
                    mailbox=self.mailbox, uidvalidity=self._validity, uid__in=part
                )
                .filter(Q(record__isnull=False) | Q(attempts__gte=MAX_MAIL_ATTEMPTS))
                .values_list("uid", flat=True)
            )
        gaps = [u for u in on_server if u not in known]
        if gaps:
            logger.info("mailbox %s: reconciliation found %d gaps", self.mailbox.name, len(gaps))
        self.report.backfilled += self._take(gaps, known_first=True)
        self._reconciled()

    def _reconciled(self) -> None:
        self.report.reconciled = True
        now = timezone.now()
        Mailbox.objects.filter(pk=self.mailbox.pk).update(last_reconciled_at=now)
        self.mailbox.last_reconciled_at = now


def _record_health(mailbox: Mailbox, report: PollReport, *, success: bool) -> None:
    """Write the poll's outcome to the mailbox's health ledger."""
    if report.skipped and not report.error:
        return
    now = timezone.now()
    changes: dict[str, object] = {"last_poll_at": now}
    if success:
        changes["last_success_at"] = now
        changes["lag_seconds"] = max(report.lags, default=0.0)
        changes["move_error"] = report.move_error
    errors = [e for e in (report.error, report.move_error) if e]
    if errors:
        changes |= {
            "last_error": "\n".join(errors + report.failed_mails[:5]),
            "last_error_at": now,
            "error_streak": F("error_streak") + 1,
        }
    else:
        changes |= {"last_error": "\n".join(report.failed_mails[:5]), "error_streak": 0}
        if report.failed_mails:
            changes["last_error_at"] = now
    Mailbox.objects.filter(pk=mailbox.pk).update(**changes)
