"""The fault suite: a real worker (and beat, and for webhooks gunicorn) on a PostgreSQL and
a Redis of the suite's own, broken the ways production breaks. Each case stores mail,
breaks something mid-way, recovers it, and checks that every mail became exactly one
message (0 lost, 0 doubled) within 90 s of the recovery.

Figures (seconds from recovery to the last mail processed) are printed per case; the
latest are in tests/README.md.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.channels_app.mail_helpers import make_mail
from tests.processes import Process, free_port, wait_until

from .services import BASE_DIR, PrivateServices

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

RECOVERY_SECONDS = 90
MAILS = 1000  # a few seconds of work: the fault comes with most of it still waiting
SECRET = "faults:webhook-secret"
FIGURES: dict[str, float] = {}


class Desk:
    """SupportDesk's processes on the private services, and what its database says."""

    def __init__(self, services: PrivateServices, folder: Path) -> None:
        self.services = services
        self.folder = folder
        self.env = services.env(ANYMAIL_WEBHOOK_SECRET=SECRET)

    def worker(self) -> Process:
        """Start a production-shaped worker (prefork, two children)."""
        process = Process(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "supportdesk",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            self.env,
        )
        process.wait_for_output(" ready.", timeout=120)
        return process

    def beat(self) -> Process:
        schedule = str(self.folder / "celerybeat-schedule")
        return Process(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "supportdesk",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                schedule,
            ],
            self.env,
        )

    def web(self) -> tuple[Process, int]:
        port = free_port()
        process = Process(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "supportdesk.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "4",
                "--timeout",
                "60",
            ],
            self.env,
        )
        process.wait_for_output("Booting worker", timeout=120)
        return process, port

    def mails(self, tag: str, count: int) -> list[bytes]:
        return [
            make_mail(
                subject=f"{tag} mail {n}",
                message_id=f"{tag}-{n}@faults.example",
                sender=f"customer{n}@faults.example",
            )
            for n in range(count)
        ]

    def import_mails(self, tag: str, mails: list[bytes], *, wait: bool = True):
        """Import mails as an operator does (stored, then queued in batches of 50)."""
        folder = self.folder / f"{tag}-{time.monotonic_ns()}"
        folder.mkdir()
        for number, raw in enumerate(mails):
            (folder / f"{number:05d}.eml").write_bytes(raw)
        command = [sys.executable, "manage.py", "ingest_email", str(folder), "--source", tag]
        if not wait:
            return subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        subprocess.run(
            command, cwd=BASE_DIR, env=self.env, check=True, capture_output=True, timeout=120
        )
        return None

    def query(self, sql: str, *args: object) -> list[tuple]:
        with psycopg2.connect(self.services.database_url, connect_timeout=5) as conn:
            with conn.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()

    def outcome(self, tag: str, source: str = "") -> dict[str, int]:
        """Mails of ``tag`` by what became of them (records by their ``source``, messages
        and tickets by the mails' Message-IDs and subjects)."""
        try:
            statuses = dict(
                self.query(
                    "SELECT status, count(*) FROM channels_app_inboundrecord "
                    "WHERE source = %s GROUP BY status",
                    source or f"import:{tag}",
                )
            )
            ((messages, distinct),) = self.query(
                "SELECT count(*), count(DISTINCT external_id) FROM tickets_message "
                "WHERE channel = 'email' AND external_id LIKE %s",
                f"{tag}-%",
            )
            ((tickets,),) = self.query(
                "SELECT count(*) FROM tickets_ticket WHERE subject LIKE %s", f"{tag} mail %"
            )
        except psycopg2.OperationalError:
            return {"unreachable": 1}
        return {
            "received": statuses.get("received", 0),
            "processed": statuses.get("processed", 0),
            "failed": statuses.get("failed", 0),
            "messages": messages,
            "distinct_mails": distinct,
            "tickets": tickets,
        }

    def wait_processed(self, tag: str, at_least: int, timeout: float, *processes: Process) -> None:
        wait_until(
            lambda: self.outcome(tag).get("distinct_mails", 0) >= at_least,
            timeout,
            f"{at_least} {tag} mails processed",
            processes[0] if processes else None,
        )

    def assert_recovered(
        self, tag: str, count: int, since: float, *processes: Process, source: str = ""
    ) -> None:
        """All ``count`` mails processed, each into one message and one ticket, within
        RECOVERY_SECONDS of ``since``; record the figure."""

        def settled() -> dict[str, int] | None:
            outcome = self.outcome(tag, source)
            done = outcome.get("distinct_mails") == count and not outcome.get("received")
            return outcome if done else None

        try:
            outcome = wait_until(settled, RECOVERY_SECONDS, f"all {count} {tag} mails")
        except AssertionError as exc:
            logs = "\n".join(f"--- {p.proc.args[3:5]} ---\n{p.output}" for p in processes)
            raise AssertionError(f"{exc}: {self.outcome(tag, source)}\n{logs}") from None
        FIGURES[tag] = round(time.monotonic() - since, 1)
        assert outcome == {
            "received": 0,
            "processed": outcome["processed"],
            "failed": 0,
            "messages": count,
            "distinct_mails": count,
            "tickets": count,
        }
        print(
            f"\nfault suite: {tag}: {count} mails, 0 lost, 0 doubled, "
            f"{FIGURES[tag]} s from recovery"
        )


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    services = PrivateServices()
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=BASE_DIR,
            env=services.env(),
            check=True,
            capture_output=True,
            timeout=600,
        )
        desk = Desk(services, tmp_path_factory.mktemp("faults"))
        beat = desk.beat()  # one beat for the whole suite, as in production
        try:
            yield desk
        finally:
            beat.stop()
    finally:
        services.stop()
    if FIGURES:
        print("\nfault suite figures (s from recovery):", json.dumps(FIGURES))


@pytest.fixture
def worker(desk: Desk) -> Iterator[list[Process]]:
    """The running worker(s) of a case; the list takes the ones a case restarts."""
    workers = [desk.worker()]
    yield workers
    for process in workers:
        process.stop(sig=9)


def test_kill_9_of_the_worker_mid_batch(desk: Desk, worker: list[Process]) -> None:
    desk.import_mails("kill", desk.mails("kill", MAILS))
    desk.wait_processed("kill", 50, 60, worker[0])
    assert desk.outcome("kill")["received"] > MAILS // 2  # mid-way
    worker[0].stop(sig=9)  # the whole worker, children too, mid-batch
    recovered = time.monotonic()
    worker.append(desk.worker())  # the supervisor (docker, systemd) starts it again
    desk.assert_recovered("kill", MAILS, recovered, *worker)


def test_a_redis_restart_without_persistence(desk: Desk, worker: list[Process]) -> None:
    desk.import_mails("redis", desk.mails("redis", MAILS))
    desk.wait_processed("redis", 50, 60, worker[0])
    assert desk.outcome("redis")["received"] > MAILS // 2  # mid-way
    desk.services.redis_restart()  # every queue entry is gone
    recovered = time.monotonic()
    desk.assert_recovered("redis", MAILS, recovered, *worker)


def test_a_postgresql_restart(desk: Desk, worker: list[Process]) -> None:
    desk.import_mails("postgres", desk.mails("postgres", MAILS))
    desk.wait_processed("postgres", 50, 60, worker[0])
    assert desk.outcome("postgres")["received"] > MAILS // 2  # mid-way
    desk.services.pg_restart()
    recovered = time.monotonic()
    desk.assert_recovered("postgres", MAILS, recovered, *worker)


def test_a_frozen_redis(desk: Desk, worker: list[Process]) -> None:
    mails = desk.mails("frozen", MAILS + 100)
    desk.import_mails("frozen", mails[:MAILS])
    desk.wait_processed("frozen", 50, 60, worker[0])
    assert desk.outcome("frozen")["received"] > MAILS // 2  # mid-way
    desk.services.redis_freeze()
    try:  # more mail arrives while Redis does not answer: stored, queued when it can be
        late = desk.import_mails("frozen", mails[MAILS:], wait=False)
        time.sleep(10)
    finally:
        desk.services.redis_thaw()
    recovered = time.monotonic()
    assert late.wait(timeout=120) == 0, late.stdout.read().decode()[-2000:]
    desk.assert_recovered("frozen", MAILS + 100, recovered, *worker)


def test_20_concurrent_redeliveries(desk: Desk, worker: list[Process]) -> None:
    """An ESP re-delivering one mail 20 times at once: as the same bytes, and with the
    relay's headers differing (other bytes, the same Message-ID)."""
    web, port = desk.web()
    try:
        raw = desk.mails("redelivered", 1)[0]
        variants = [raw] * 10 + [
            b"Received: from relay%d.faults.example\r\n%s" % (n, raw) for n in range(10)
        ]
        statuses: list[int] = []
        start = threading.Barrier(len(variants))

        def post(body: bytes) -> None:
            payload = json.dumps(
                {
                    "RawEmail": body.decode(),
                    "MessageID": "pm-1",
                    "FromFull": {"Email": "customer0@faults.example"},
                }
            )
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/anymail/postmark/inbound/",
                payload.encode(),
                {
                    "Content-Type": "application/json",
                    "Authorization": "Basic " + base64.b64encode(SECRET.encode()).decode(),
                },
            )
            start.wait()
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                statuses.append(response.status)

        threads = [threading.Thread(target=post, args=(body,)) for body in variants]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert statuses == [200] * 20, web.output
        ((records,),) = desk.query(
            "SELECT count(*) FROM channels_app_inboundrecord WHERE source = 'postmark'"
        )
        assert records == 11  # the same bytes are stored once
        desk.assert_recovered("redelivered", 1, time.monotonic(), web, *worker, source="postmark")
    finally:
        web.stop()
