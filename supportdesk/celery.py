"""The Celery application shared by the web process, workers and beat."""

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, task_postrun, task_prerun, worker_init, worker_process_init
from django.db import close_old_connections

from channels_app.worker_steps import RequeueOnConnect
from supportdesk.gc_freeze import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
# Every CELERY_* Django setting configures the app, so there is one source of configuration.
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fix-up closes every database connection before and after each task,
# whatever CONN_MAX_AGE says, unless this count is set: each task opened a PostgreSQL
# session of its own (a backend forked, its catalog caches filled again; 1,978 sessions for
# 2,188 tasks in the ingest bench, issue 16). With a count it never reaches, the fix-up
# leaves them alone and each task starts and ends as a web request does (below).
app.conf.update(CELERY_DB_REUSE_MAX=2**62)
app.autodiscover_tasks()
# Connecting to the broker re-queues waiting inbound records (lost queue entries).
app.steps["consumer"].add(RequeueOnConnect)


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender: Any = None, **_: object) -> None:
    # Django's request_started/finished handling: a connection past CONN_MAX_AGE, or left
    # unusable by an error, is closed (the next query opens a new one), and a kept one is
    # health-checked before its first query. Not for an eager task: it runs inside its
    # caller's transaction.
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@worker_init.connect
@worker_process_init.connect
@beat_init.connect
def _freeze_after_start(**_: object) -> None:
    # The worker (a solo pool runs tasks in it), each prefork pool process and beat have
    # imported the tasks by now: leave those objects out of the collector's full walks
    # (supportdesk/gc_freeze.py).
    freeze_startup_objects()
