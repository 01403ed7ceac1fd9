"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
# Every CELERY_* Django setting configures the app, so there is one source of configuration.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
