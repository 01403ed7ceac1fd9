"""Peer side of the email-ingest benchmark: django-helpdesk 2.6's own ``get_email``.

Runs with a separate venv's python that has django-helpdesk installed from PyPI (never a
dependency of SupportDesk):

    python3 -m venv /tmp/helpdesk-venv && \\
        /tmp/helpdesk-venv/bin/pip install 'django-helpdesk==2.6.1'
    /tmp/helpdesk-venv/bin/python bench/helpdesk_peer.py DIR [--json OUT.json] [--repeat K]

Each run (one fresh child process) configures a minimal Django project in-process, with a
fresh SQLite database in a temporary directory (``$TMPDIR`` decides where), migrates it,
creates one Queue whose mailbox is a copy of DIR (``email_box_type`` 'local': get_email
deletes the files it processed, so DIR itself is not consumed) and times only
``call_command("get_email", quiet=True)``. get_email takes every regular file at the top
of the directory, whatever its name or extension, in ``os.listdir`` order (not sorted).
Outgoing mail goes to the locmem backend. Prints one JSON line: the runs and their median.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from importlib.metadata import version
from pathlib import Path
from typing import Any

QUEUE_SLUG = "bench"
QUEUE_ADDRESS = "support@helpdesk.example.org"
MAX_ERRORS_SHOWN = 20


class _Capture(logging.Handler):
    """Keeps the WARNING+ records get_email logs (per message and per queue)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        self.records.append(text)


def _configure_django(work: Path, email_backend: str) -> None:
    from django.conf import settings

    # The e-mail templates link to the ticket (reverse "helpdesk:public_view"), so the
    # helpdesk URLs must be mounted; the patterns are filled in after django.setup().
    urls = types.ModuleType("helpdesk_peer_urls")
    sys.modules[urls.__name__] = urls
    settings.configure(
        DEBUG=False,
        SECRET_KEY="helpdesk-peer-bench",  # noqa: S106 - throwaway in-process project
        ALLOWED_HOSTS=["localhost"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        SITE_ID=1,
        ROOT_URLCONF=urls.__name__,
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(work / "db.sqlite3")}
        },
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django.contrib.sites",
            "django.contrib.humanize",
            "rest_framework",
            "helpdesk",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        STATIC_URL="/static/",
        MEDIA_ROOT=str(work / "media"),
        MEDIA_URL="/media/",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        EMAIL_BACKEND=email_backend,
        DEFAULT_FROM_EMAIL=QUEUE_ADDRESS,
        # Teams mode defaults to on and needs the optional pinax-teams app ([teams] extra).
        HELPDESK_TEAMS_MODE_ENABLED=False,
    )


def run_once(mail_dir: Path, email_backend: str) -> dict[str, Any]:
    """One measured run in this process: fresh database, fresh copy of the mails."""
    work = Path(tempfile.mkdtemp(prefix="helpdesk-peer-"))
    try:
        mailbox = work / "mailbox"
        shutil.copytree(mail_dir, mailbox)
        # What get_email will pick up: every regular file directly in the directory.
        messages = sum(1 for p in mailbox.iterdir() if p.is_file())

        _configure_django(work, email_backend)
        import django

        django.setup()
        from django.core import mail
        from django.urls import include, path

        sys.modules["helpdesk_peer_urls"].urlpatterns = [  # type: ignore[attr-defined]
            path("helpdesk/", include("helpdesk.urls"))
        ]
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from helpdesk.models import FollowUp, FollowUpAttachment, Queue, Ticket

        Queue.objects.create(
            title="Bench",
            slug=QUEUE_SLUG,
            email_address=QUEUE_ADDRESS,
            allow_email_submission=True,
            email_box_type="local",
            email_box_local_dir=str(mailbox),
            logging_type="warn",  # None (the default) silences the queue logger entirely
        )
        capture = _Capture()
        for name in (f"django.helpdesk.queue.{QUEUE_SLUG}", "helpdesk"):
            logging.getLogger(name).addHandler(capture)

        queries = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        cpu = time.process_time()
        start = time.perf_counter()
        with connection.execute_wrapper(count):
            call_command("get_email", quiet=True)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu

        left = sorted(p.name for p in mailbox.iterdir() if p.is_file())
        return {
            "peer": f"django-helpdesk {version('django-helpdesk')}",
            "django": version("django"),
            "messages": messages,
            # get_email deletes each file it turned into a ticket/follow-up; an exception
            # on one file aborts the rest of the queue, so fewer may have been processed.
            "processed": messages - len(left),
            "seconds": round(seconds, 4),
            "per_second": round(messages / seconds, 2) if seconds else None,
            "cpu_seconds": round(cpu, 4),  # this process only; wall minus this ~ I/O waits
            "queries": queries,  # SQL statements (SQLite autocommits each write)
            "tickets": Ticket.objects.count(),
            "followups": FollowUp.objects.count(),
            "attachments": FollowUpAttachment.objects.count(),
            "mails_sent": len(getattr(mail, "outbox", [])),
            "left_in_dir": len(left),
            "left_in_dir_names": left[:MAX_ERRORS_SHOWN],
            "error_count": len(capture.records),
            "errors": capture.records[:MAX_ERRORS_SHOWN],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _child(mail_dir: Path, email_backend: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, str(mail_dir), "--one", "--email-backend", email_backend]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="directory of raw mails (one per file)")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    parser.add_argument("--repeat", type=int, default=1, help="runs, each from scratch")
    parser.add_argument(
        "--email-backend",
        default="django.core.mail.backends.locmem.EmailBackend",
        help="Django email backend for the acknowledgements get_email sends",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.dir.is_dir():
        parser.error(f"{args.dir} is not a directory")

    if args.one:
        print(json.dumps(run_once(args.dir.resolve(), args.email_backend)))
        return

    runs = []
    for i in range(args.repeat):
        run = _child(args.dir.resolve(), args.email_backend)
        runs.append(run)
        print(
            f"run {i + 1}/{args.repeat}: {run['messages']} msgs in {run['seconds']:.2f} s = "
            f"{run['per_second']}/s (cpu {run['cpu_seconds']:.2f} s, {run['queries']} queries), "
            f"{run['tickets']} tickets, {run['followups']} followups, "
            f"{run['left_in_dir']} left, {run['error_count']} warnings/errors",
            file=sys.stderr,
        )
        if run["processed"] < run["messages"]:
            print(f"  not processed: {run['left_in_dir_names']}", file=sys.stderr)
    seconds = statistics.median(r["seconds"] for r in runs)
    first = runs[0]
    result = {
        "peer": first["peer"],
        "django": first["django"],
        "messages": first["messages"],
        "processed": min(r["processed"] for r in runs),
        "seconds": round(seconds, 4),
        "per_second": round(first["messages"] / seconds, 2) if seconds else None,
        "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 4),
        "queries": statistics.median_low(r["queries"] for r in runs),
        "tickets": statistics.median_low(r["tickets"] for r in runs),
        "followups": statistics.median_low(r["followups"] for r in runs),
        "errors": sorted({e for r in runs for e in r["errors"]}),
        "email_backend": args.email_backend,
        "runs": runs,
    }
    line = json.dumps(result)
    print(line)
    if args.json:
        args.json.write_text(line + "\n")


if __name__ == "__main__":
    main()
