"""Check the issue's outage story end to end: stop dovecot for 3 minutes, see the
stalled-mailbox alert raised, start it again, see every mail delivered meanwhile stored
once (0 lost, 0 doubled) and the alert resolved.

Everything is real: a dovecot of its own on loopback (tests/dovecot.py), PostgreSQL and
Redis from the environment, and a Celery worker with beat embedded (``-B``) that runs the
production schedule (``mailboxes.poll_due`` and ``mailboxes.scan_health``) at shortened
intervals. Mail keeps arriving the whole time, as an MTA delivers it: into the Maildir,
whether dovecot runs or not. Run from the repository root (a throwaway database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_outage REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/mailbox_outage.py [--outage-seconds 180] [--stalled-minutes 2]

The stall threshold must be shorter than the outage (the issue: "stopping dovecot for 3
minutes raises the alert"); 2 minutes by default, so the alert comes ~2 minutes after the
last successful poll. Prints a timeline and writes bench/results/mailbox_outage.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from pgdb import create_database  # bench/ is the script folder: sys.path[0]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = f"outage-{uuid.uuid4().hex[:8]}"
RESULTS = ROOT / "bench" / "results" / "mailbox_outage.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-seconds", type=int, default=180)
    parser.add_argument("--stalled-minutes", type=int, default=2)
    parser.add_argument("--mail-every", type=float, default=5.0, help="seconds between mails")
    parser.add_argument("--before-seconds", type=int, default=30)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is migrated and filled).")
    create_database(os.environ["DATABASE_URL"])
    # The worker and this script share these settings (read at Django's start).
    knobs = {
        "SUPPORTDESK_CELERY_QUEUE": QUEUE,
        "SUPPORTDESK_MAILBOX_STALLED_MINUTES": str(args.stalled_minutes),
        "SUPPORTDESK_MAILBOX_ERROR_STREAK": "1000",  # this check is about the stall
        "SUPPORTDESK_IMAP_DISPATCH_SECONDS": "5",
        "SUPPORTDESK_MAILBOX_SCAN_SECONDS": "10",
        "SUPPORTDESK_IMAP_TIMEOUT_SECONDS": "5",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(knobs)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args)


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model

    from channels_app.models import InboundRecord
    from mailboxes.models import Mailbox, MailboxAlert, MailboxMessage
    from outbox.models import MailKind, OutgoingMail
    from tests.dovecot import Dovecot, TestCA
    from tickets.defaults import ensure_standard_departments
    from tickets.models import Department
    from workspace.models import Notification, NotificationKind

    ensure_standard_departments(Department)
    stamp = uuid.uuid4().hex[:6]
    admin = get_user_model().objects.create_user(
        username=f"postmaster-{stamp}",
        email=f"postmaster-{stamp}@desk.example",
        is_staff=True,
        is_superuser=True,
    )
    server = Dovecot(TestCA())
    user = server.add_user()
    mailbox = Mailbox(
        name=f"outage-{stamp}",
        department=Department.objects.get(slug="customer-support"),
        host="localhost",
        port=server.imaps_port,
        ca_certificates=server.ca.pem,
        username=user,
        poll_every_seconds=10,
    )
    mailbox.set_password(server.passwords[user])
    mailbox.save()
    t0 = time.monotonic()
    timeline: list[tuple[float, str]] = []

    def note(text: str) -> None:
        timeline.append((round(time.monotonic() - t0, 1), text))
        print(f"{timeline[-1][0]:7.1f} s  {text}", flush=True)

    sent: list[str] = []

    def deliver() -> None:
        message = EmailMessage()
        n = len(sent)
        message["From"] = f"customer{n}@example.org"
        message["To"] = "support@supportdesk.localhost"
        message["Subject"] = f"outage check {stamp} mail {n}"
        message["Message-ID"] = make_msgid(domain="example.org")
        message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message.set_content(f"Mail {n} of the outage check.\n")
        server.drop_into_maildir(user, bytes(message))
        sent.append(message["Subject"])

    def stored() -> Counter:
        records = InboundRecord.objects.filter(source=mailbox.source)
        return Counter(_subject(bytes(r)) for r in records.values_list("raw", flat=True))

    def keep_delivering(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            deliver()
            if until is not None and until():
                return
            time.sleep(args.mail_every)

    schedule = Path(tempfile.mkdtemp(prefix="sd-outage-")) / "beat-schedule"
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "supportdesk", "worker", "-B", "-s",
         str(schedule), "--concurrency", "2", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=dict(os.environ), start_new_session=True,
    )  # fmt: skip
    result: dict = {}
    try:
        note(f"worker + beat started; mailbox {mailbox.name} on dovecot :{server.imaps_port}")
        keep_delivering(args.before_seconds)
        _wait(lambda: len(stored()) == len(sent), 60, "the first mails to be stored")
        note(f"healthy: {len(sent)} mails delivered and stored")
        before = len(sent)
        server.stop()
        stopped = time.monotonic()
        note("dovecot stopped (mail keeps arriving in the Maildir)")
        alert_at = None

        def alerted() -> bool:
            nonlocal alert_at
            if alert_at is None and MailboxAlert.objects.filter(mailbox=mailbox).exists():
                alert_at = time.monotonic()
                note("stalled-mailbox alert raised")
            return False  # deliver for the whole outage

        keep_delivering(args.outage_seconds, until=alerted)
        during = len(sent) - before
        server.start()
        note(f"dovecot started after {time.monotonic() - stopped:.0f} s; {during} mails meanwhile")
        # Two more mails after the restart, then wait for everything to be stored.
        keep_delivering(2 * args.mail_every)
        _wait(lambda: sum(stored().values()) >= len(sent), 120, "the backfill")
        backfilled_at = time.monotonic()
        note(f"backfilled: {sum(stored().values())} stored of {len(sent)} delivered")
        _wait(
            lambda: MailboxAlert.objects.filter(mailbox=mailbox, resolved_at__isnull=False)
            .exists(),
            120, "the alert to be resolved",
        )  # fmt: skip
        note("alert resolved")
        _wait(
            lambda: not OutgoingMail.objects.filter(
                kind=MailKind.MAILBOX_ALERT, status__in=["pending", "sending"]
            ).exists(),
            60, "the alert mails to be sent",
        )  # fmt: skip
        time.sleep(3)  # a last poll and scan: nothing may come twice afterwards
        counts = stored()
        lost = [s for s in sent if s not in counts]
        doubled = {s: n for s, n in counts.items() if n > 1}
        alert = MailboxAlert.objects.filter(mailbox=mailbox).order_by("raised_at").first()
        mails = list(
            OutgoingMail.objects.filter(kind=MailKind.MAILBOX_ALERT)
            .order_by("pk")
            .values("to", "subject", "status")
        )
        notices = list(
            Notification.objects.filter(recipient=admin, kind=NotificationKind.MAILBOX_ALERT)
            .order_by("pk")
            .values_list("text", flat=True)
        )
        result = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} {os.cpu_count()} cpu, "
            f"Python {platform.python_version()}",
            "load_average": os.getloadavg(),
            "outage_seconds": args.outage_seconds,
            "stalled_minutes": args.stalled_minutes,
            "mails_delivered": len(sent),
            "mails_delivered_during_outage": during,
            "records_stored": sum(counts.values()),
            "mailbox_messages": MailboxMessage.objects.filter(mailbox=mailbox).count(),
            "lost": len(lost),
            "doubled": len(doubled),
            "alert": {
                "kind": alert.kind if alert else None,
                "seconds_after_stop": round(alert_at - stopped, 1) if alert_at else None,
                "resolved": bool(alert and alert.resolved_at),
                "detail": alert.detail if alert else None,
            },
            "backfill_seconds_after_start": round(backfilled_at - stopped - args.outage_seconds, 1),
            "admin_mails": mails,
            "workspace_notifications": notices,
            "timeline": timeline,
            "ok": bool(alert_at) and not lost and not doubled and bool(alert and alert.resolved_at),
        }
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)
        server.close()
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print()
    print(
        "| outage | alert after stop | delivered | stored | lost | doubled "
        "| alert mails | notices |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.outage_seconds} s | {result['alert']['seconds_after_stop']} s "
        f"| {result['mails_delivered']} | {result['records_stored']} | {result['lost']} "
        f"| {result['doubled']} | {len(result['admin_mails'])} "
        f"| {len(result['workspace_notifications'])} |"
    )
    print(f"ok: {result['ok']}  (written to {RESULTS.relative_to(ROOT)})")
    sys.exit(0 if result["ok"] else 1)


def _subject(raw: bytes) -> str:
    from email import message_from_bytes

    return str(message_from_bytes(raw)["Subject"])


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}")


if __name__ == "__main__":
    main()
