"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery

from channels_app.worker_steps import RequeueOnConnect

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
# Every CELERY_* Django setting configures the app, so there is one source of configuration.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Connecting to the broker re-queues waiting inbound records (lost queue entries).
app.steps["consumer"].add(RequeueOnConnect)
