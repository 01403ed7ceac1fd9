"""The desk on "many hosts": two web processes and two workers, each with its own var
directory (no shared disk), two beats, one PostgreSQL, one Redis and an S3-compatible
store (moto_server) on loopback. Files stored by one process are served by the others,
and killing the scheduling beat hands scheduling over while the SLA scan keeps running."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.test import Client

from tests.processes import BASE_DIR, Process, free_port, service_env, start_worker, wait_until
from tickets.models import Attachment, Ticket

from .beats import beat_env, beats, sent

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCAN_DONE = re.compile(r"Task sla\.scan_deadlines\[[^\]]+\] succeeded")


def _web(env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    cmd = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    process = Process(cmd, service_env(**env))
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(base), 120, f"web at {base}", process)
    return process, base


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).status_code < 500
    except requests.RequestException:
        return False


def _session(user=None, contact=None) -> dict[str, str]:
    """A session cookie made by this process: sessions live in the shared database and
    Redis, so every web process knows it."""
    client = Client()
    if user is not None:
        client.force_login(user)
    else:
        from portal.auth import SESSION_KEY

        session = client.session
        session[SESSION_KEY] = contact.pk
        session.save()
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def _mail(path: Path, message_id: str) -> None:
    mail = EmailMessage()
    mail["From"] = "Anna de Vries <anna@northwind.example>"
    mail["To"] = "support@supportdesk.localhost"
    mail["Subject"] = "Diagram of the outage"
    mail["Message-ID"] = message_id
    mail.set_content("The diagram is attached.")
    mail.add_attachment(b"\x00diagram-bytes\x01", maintype="application", subtype="octet-stream",
                        filename="diagram.bin")  # fmt: skip
    path.write_bytes(mail.as_bytes())


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "attachments" in p.parts]


@pytest.fixture
def hosts(tmp_path, s3_server, departments):
    """Two webs and two workers ("hosts" a and b) on one fresh queue and the bucket."""
    queue = f"hosts-{uuid.uuid4().hex[:8]}"
    started: list[Process] = []
    common = {**s3_server.storage_env(), "SUPPORTDESK_CELERY_QUEUE": queue}
    var = {name: tmp_path / name for name in ("a", "b")}
    try:
        webs = []
        for folder in var.values():
            folder.mkdir()
            env = {
                **common,
                "SUPPORTDESK_VAR_DIR": str(folder),
                "MEDIA_ROOT": str(folder / "media"),
            }
            process, base = _web(env)
            started.append(process)
            webs.append(base)
            started.append(start_worker(**env))
        yield {"webs": webs, "workers": started[1::2], "env": common, "var": var}
    finally:
        for process in started:
            process.stop()
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in client.scan_iter(f"{queue}*"):
            client.delete(key)


def test_files_and_scheduling_work_across_hosts(hosts, s3_server, anna, boss, tmp_path):
    web_a, web_b = hosts["webs"]
    ticket_number = _open_ticket_for(anna)

    # A portal attachment uploaded through web A downloads through web B.
    customer = _session(contact=anna)
    with requests.Session() as browser:
        browser.cookies.update(customer)
        page = browser.get(f"{web_a}/portal/tickets/{ticket_number}/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        posted = browser.post(
            f"{web_a}/portal/tickets/{ticket_number}/reply/",
            data={"body": "screenshot attached", "csrfmiddlewaretoken": token},
            files={"attachments": ("screen.png", b"\x89PNG portal-bytes", "image/png")},
            headers={"Referer": f"{web_a}/portal/tickets/{ticket_number}/"},
            timeout=30,
        )
        assert posted.status_code == 200, posted.text[:500]
        uploaded = Attachment.objects.get(filename="screen.png")
        download = browser.get(f"{web_b}/portal/attachments/{uploaded.pk}/", timeout=30)
        assert download.status_code == 200
        assert download.content == b"\x89PNG portal-bytes"
    assert uploaded.file.name in s3_server.keys()

    # A mail attachment stored by a worker shows through both webs.
    eml = tmp_path / "diagram.eml"
    _mail(eml, f"<diagram-{uuid.uuid4().hex}@northwind.example>")
    subprocess.run(
        [sys.executable, "manage.py", "ingest_email", str(eml)],
        cwd=BASE_DIR,
        env=service_env(**hosts["env"]),
        check=True,
        timeout=120,
    )
    stored = wait_until(
        lambda: Attachment.objects.filter(filename="diagram.bin").first(),
        60,
        "a worker to store the mail's attachment",
    )
    staff = _session(user=boss)
    for web in (web_a, web_b):
        response = requests.get(f"{web}/desk/a/{stored.pk}/", cookies=staff, timeout=30)
        assert response.status_code == 200
        assert response.content == b"\x00diagram-bytes\x01"
    # Nothing reached any host's own disk.
    assert not any(_files_under(folder) for folder in hosts["var"].values())

    # Two beats: kill -9 the scheduling one; the other takes over and the scan goes on.
    env = beat_env(**hosts["env"])
    with beats(env) as (first, second):
        leader = wait_until(
            lambda: next((b for b in (first, second) if len(sent(b, "sla-scan")) >= 2), None),
            60,
            "one beat to schedule the SLA scan",
        )
        standby = second if leader is first else first
        assert sent(standby, "sla-scan") == []
        scans_before = _scans(hosts["workers"])
        leader.stop(sig=9)
        before = sent(leader, "sla-scan")
        wait_until(lambda: len(sent(standby, "sla-scan")) >= 3, 60, "the other beat to take over")
        after = sent(standby, "sla-scan")
        assert len(before + after) == len(set(before + after))  # never twice in one period
        wait_until(
            lambda: _scans(hosts["workers"]) >= scans_before + 3,
            60,
            "the workers to run the SLA scans the new scheduler sent",
        )


def _scans(workers: list[Process]) -> int:
    return sum(1 for worker in workers for line in list(worker.lines) if SCAN_DONE.search(line))


def _open_ticket_for(contact) -> int:
    from tests.factories import open_ticket

    ticket: Ticket = open_ticket(subject="Outage", contact=contact, body="first", channel="portal")
    return ticket.number
