"""`make run`'s stack end to end: web, worker and beat as separate processes.

An agent signs in to the admin over HTTP and asks the web process to process a failed
record again; the separate worker process does it. Ctrl-C stops all three.
"""

from __future__ import annotations

import http.cookiejar
import re
import signal
import sys
import urllib.parse
import urllib.request

import pytest

from channels_app.inbound import inbound_process, inbound_store
from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Department, Ticket

from .factories import AgentFactory
from .processes import Process, free_port, service_env, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class Browser:
    """Just enough of a browser for the admin: cookies and CSRF tokens."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post_form(self, path: str, fields: dict[str, str | list[str]]) -> str:
        page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}, doseq=True)
        request = urllib.request.Request(
            self.base + path, data=body.encode(), headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.read().decode()


@pytest.fixture
def stack(tmp_path, departments):
    port = free_port()
    process = Process(
        [sys.executable, "-m", "supportdesk.runstack", "--port", str(port)],
        service_env(SUPPORTDESK_VAR_DIR=str(tmp_path)),
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_until(healthy, 90, "the web server to answer /healthz", process)
    process.wait_for_output(" ready.")  # the worker
    process.wait_for_output("beat: Starting")
    yield process, base
    if process.proc.poll() is None:
        process.stop()


def test_admin_action_in_web_process_runs_in_worker_process(stack):
    process, base = stack
    AgentFactory(username="boss", is_superuser=True, password="boss-password-123")
    record, _ = inbound_store(
        channel="api",
        source="test",
        payload={"subject": "Registry timeout", "body": "EPP timeout", "department": "second-line"},
    )
    assert inbound_process(record.pk).status == InboundStatus.FAILED  # no such department yet
    Department.objects.create(
        name="Second line",
        slug="second-line",
        kind="technical_support",
        inbox_email="second-line@supportdesk.localhost",
    )

    browser = Browser(base)
    browser.post_form(
        "/admin/login/?next=/admin/", {"username": "boss", "password": "boss-password-123"}
    )
    page = browser.post_form(
        "/admin/channels_app/inboundrecord/",
        {
            "action": "process_again",
            "_selected_action": [str(record.pk)],
            "index": "0",
            "select_across": "0",
        },
    )
    assert "queued for processing" in page

    def processed() -> bool:
        return InboundRecord.objects.get(pk=record.pk).status == InboundStatus.PROCESSED

    wait_until(processed, 120, "the worker to process the record again", process)
    assert Ticket.objects.filter(
        subject="Registry timeout", department__slug="second-line"
    ).exists()

    # Ctrl-C stops web, worker and beat, and runstack exits cleanly.
    assert process.stop(signal.SIGINT, timeout=40) == 0, process.output
