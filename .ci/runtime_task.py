"""Run one task through a Celery worker of the runtime-only install, on the real Redis.

Started by .ci/runtime_check.sh with the runtime venv's python, from outside the checkout:
starts ``celery -A supportdesk worker`` from that venv, stores a call record the way the
API does (raw first, processing queued on Redis after the commit), and waits until the
worker has turned it into a ticket. Exits non-zero, with the worker's output, otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import django

TIMEOUT_SECONDS = 90


def main(celery: str) -> int:
    django.setup()
    import supportdesk
    from channels_app.inbound import inbound_store
    from channels_app.models import InboundRecord, InboundStatus
    from tickets.defaults import ensure_standard_departments
    from tickets.models import Department

    print(f"runtime check: supportdesk imported from {os.path.dirname(supportdesk.__file__)}")
    ensure_standard_departments(Department)
    log = tempfile.TemporaryFile(mode="w+")
    worker = subprocess.Popen(  # noqa: S603 - our own venv's celery
        [celery, "-A", "supportdesk", "worker", "--pool", "solo", "--loglevel", "INFO"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        record, _ = inbound_store(
            channel="phone",
            source="ci:runtime-check",
            payload={"caller": "+31 20 123 4567", "summary": "Runtime install check"},
            external_id=f"runtime-check-{os.getpid()}",
        )
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline and worker.poll() is None:
            record = InboundRecord.objects.get(pk=record.pk)
            if record.status != InboundStatus.RECEIVED:
                break
            time.sleep(0.5)
        if record.status == InboundStatus.PROCESSED and record.message_id:
            print(f"runtime check: the worker processed record {record.pk} into a ticket")
            return 0
        print(f"runtime check FAILED: record {record.pk} is {record.status} {record.error!r}")
        log.seek(0)
        print(log.read()[-6000:])
        return 1
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
