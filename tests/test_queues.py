"""Queues per concern: the beat's periodic work never waits in line with incoming mail."""

from __future__ import annotations

from django.conf import settings

from supportdesk.celery import app
from supportdesk.queues import CONCERN_TASKS, MAIN_QUEUE_BEAT_TASKS, celery_queue_settings


def _routes() -> dict[str, dict[str, str]]:
    return celery_queue_settings("supportdesk")["task_routes"]


def test_every_beat_task_but_the_ingest_sweep_has_a_concern_queue():
    routes = _routes()
    on_main = sorted(
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] not in routes
    )
    assert on_main == sorted(MAIN_QUEUE_BEAT_TASKS)


def test_upkeep_goes_to_the_housekeeping_queue_read_last():
    routes = _routes()
    for task in ("search.words_refresh", "reports.catch_up", "csat.ask_missed"):
        assert routes[task] == {"queue": "supportdesk.housekeeping"}
    names = [queue.name for queue in celery_queue_settings("supportdesk")["task_queues"]]
    assert names[0] == "supportdesk" and names[-1] == "supportdesk.housekeeping"


def test_every_routed_name_is_a_registered_task():
    app.loader.import_default_modules()
    routed = {task for tasks in CONCERN_TASKS.values() for task in tasks}
    assert routed - set(app.tasks) == set()
