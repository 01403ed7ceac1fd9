"""Start real SupportDesk processes (Celery worker, the whole stack) against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

from supportdesk.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent


def service_env(**extra: str) -> dict[str, str]:
    """Return the environment for a child process that shares this test session's
    database, broker and queue."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SUPPORTDESK_DB_NAME": str(connection.settings_dict["NAME"]),
        "SUPPORTDESK_CELERY_QUEUE": celery_app.conf.task_default_queue,
    }
    if prefix := settings.CACHES["default"].get("KEY_PREFIX"):
        env["CACHE_KEY_PREFIX"] = prefix  # the same cached pages and lists version
    options = celery_app.conf.broker_transport_options or {}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        env["SUPPORTDESK_BROKER_DIR"] = options["data_folder_in"]
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process whose combined output is collected for assertions and failures."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            cmd,
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    @property
    def output(self) -> str:
        return "\n".join(self.lines[-80:])

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        wait_until(
            lambda: any(text in line for line in self.lines), timeout, f"{text!r} in output", self
        )

    def wait_for_task_success(self, task_name: str, timeout: float = 30) -> None:
        """Wait for the worker's "<task> … succeeded" log line.

        Celery logs it after the task's on-commit hooks ran, so it may trail the database
        rows the task wrote by a moment.
        """
        wait_until(
            lambda: any(task_name in line and "succeeded" in line for line in self.lines),
            timeout,
            f"the worker to log {task_name} succeeded",
            self,
        )

    def stop(self, sig: int = 15, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
            raise


def wait_until(
    check: Callable[[], object], timeout: float, what: str, process: Process | None = None
) -> object:
    """Poll ``check`` until it returns something truthy; fail with the process output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        if process is not None and process.proc.poll() is not None:
            break
        time.sleep(0.2)
    detail = f"\n--- process output ---\n{process.output}" if process else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")


def start_worker(*, pool: str = "solo", include: tuple[str, ...] = (), **env: str) -> Process:
    """Start a Celery worker on this session's queue and wait until it is ready.

    ``pool="prefork"`` runs one child process, as production does (with more children):
    a child that dies is replaced and its task re-delivered. ``include`` names extra
    modules the worker imports (fault hooks); ``env`` adds environment variables (e.g.
    the mail server it sends to).
    """
    options = ["--pool", pool] + (["--concurrency", "1"] if pool == "prefork" else [])
    for module in include:
        options += ["--include", module]
    worker = Process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "supportdesk",
            "worker",
            *options,
            "--loglevel",
            "INFO",  # consumes the session's queues (CELERY_TASK_QUEUES), main one first
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        service_env(**env),
    )
    worker.wait_for_output(" ready.", timeout=120)
    return worker
