"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init

from channels_app.worker_steps import RequeueOnConnect
from supportdesk.gc_freeze import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
# Every CELERY_* Django setting configures the app, so there is one source of configuration.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Connecting to the broker re-queues waiting inbound records (lost queue entries).
app.steps["consumer"].add(RequeueOnConnect)


@worker_init.connect
@worker_process_init.connect
@beat_init.connect
def _freeze_after_start(**_: object) -> None:
    # The worker (a solo pool runs tasks in it), each prefork pool process and beat have
    # imported the tasks by now: leave those objects out of the collector's full walks
    # (supportdesk/gc_freeze.py).
    freeze_startup_objects()
