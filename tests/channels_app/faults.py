"""Fault injection for the inbound pipeline: poison mail that misbehaves the way real
poison does, chosen by the mail's ``X-Test-Fault`` header.

- ``crash``: the process dies (SIGKILL) while processing the mail, every time;
- ``integrity``: a real non-transient database error (a CHECK constraint refuses a row);
- ``deadlock-once``: PostgreSQL raises a real deadlock_detected (40P01) on the mail's
  first attempt only.

Installed in-process by the ``faults`` fixture, and in a worker process started with
``celery worker --include tests.channels_app.faults`` and SUPPORTDESK_TEST_FAULTS=1.
"""

from __future__ import annotations

import os
import re
import signal
from typing import Any

_HEADER = re.compile(rb"^X-Test-Fault:[ \t]*([\w-]+)", re.M | re.I)
_original: Any = None


def fault_of(raw: bytes | None) -> str:
    head = bytes(raw or b"").split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    found = _HEADER.search(head)
    return found.group(1).decode() if found else ""


def install() -> None:
    """Wrap the email processor's per-mail screening step with the faults."""
    global _original
    from channels_app.email import processor

    if _original is not None:
        return
    _original = processor._screen

    def screen(record: Any, batch: Any) -> Any:
        fault = fault_of(record.raw)
        if fault == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        elif fault == "integrity":
            _refused_row(record)
        elif fault == "deadlock-once" and record.attempts <= 1:
            _deadlock()
        return _original(record, batch)

    processor._screen = screen


def uninstall() -> None:
    global _original
    from channels_app.email import processor

    if _original is not None:
        processor._screen, _original = _original, None


def _refused_row(record: Any) -> None:
    from channels_app.models import InboundRecord

    # The status CHECK constraint refuses the value: an IntegrityError on any database.
    InboundRecord.objects.filter(pk=record.pk).update(status="bogus")


def _deadlock() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected (test fault)' "
            "USING ERRCODE = '40P01'; END $$"
        )


if os.environ.get("SUPPORTDESK_TEST_FAULTS") == "1":
    install()
