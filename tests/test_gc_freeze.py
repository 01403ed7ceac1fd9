"""Web and worker processes leave their start-up objects out of the collector's walks.

Without it a full collection walked ~130,000 objects, 250-550 ms in which a gunicorn or
Celery process answered nothing (supportdesk/gc_freeze.py).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .processes import service_env, start_worker

# Far more than anything but a loaded Django project would leave: the freeze took the
# models, URL patterns and admin, not a handful of objects.
LOADED = 20_000


@pytest.mark.parametrize("module", ["supportdesk.wsgi", "supportdesk.asgi"])
def test_the_web_application_freezes_what_it_loaded(module):
    probe = f"import gc, {module}; print(gc.get_freeze_count())"
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], env=service_env(), capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    assert int(out.stdout.split()[-1]) > LOADED


@pytest.mark.worker
@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_the_process_running_tasks_freezes_after_the_worker_started(pool):
    worker = start_worker(pool=pool, include=("tests.gc_probe",))
    try:
        from tests.gc_probe import report_frozen

        report_frozen.delay()
        worker.wait_for_output("frozen objects in the pool process:", timeout=60)
        found = re.search(r"frozen objects in the pool process: (\d+)", "\n".join(worker.lines))
        assert found and int(found.group(1)) > LOADED
    finally:
        worker.stop()


@pytest.mark.parametrize("module", ["supportdesk.wsgi", "supportdesk.asgi"])
def test_the_web_application_loads_what_its_first_delivery_would(module):
    """The first webhook delivery of each gunicorn worker imported redis and bound every
    Celery task (~230 ms of CPU) while the burst queued (supportdesk/warm.py)."""
    probe = (
        f"import sys, {module}; from supportdesk.celery import app; "
        "from django.conf import settings; "
        "redis = 'django_redis' in settings.CACHES['default']['BACKEND']; "  # else: no client
        "print('redis' in sys.modules or not redis, 'channels_app.tasks' in sys.modules, "
        "app.finalized)"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], env=service_env(), capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    assert out.stdout.split()[-3:] == ["True", "True", "True"]
