"""PostgreSQL and Redis of the fault suite's own, which it may kill, restart and freeze.

Started the way CI starts its services (.ci/services.sh), in a folder of their own, so
the suite never touches the servers the rest of the tests use.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


class PrivateServices:
    """One PostgreSQL cluster and one Redis server (no persistence) on loopback."""

    def __init__(self) -> None:
        # Under /tmp: the postgres user must reach the folder (pytest's are root-only).
        self.dir = Path(tempfile.mkdtemp(prefix="supportdesk-faults-", dir="/tmp"))
        out = self._bash(f'services_start "{self.dir}" >/dev/null; echo "$DATABASE_URL $REDIS_URL"')
        self.database_url, self.redis_url = out.split()
        self.redis_port = int(self.redis_url.rsplit(":", 1)[1].split("/")[0])
        self.pgbin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))[-1]).parent

    def env(self, **extra: str) -> dict[str, str]:
        """Return the environment of a desk process that uses these services only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTDESK_", "CELERY_"))}
        env.pop("CACHE_URL", None)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            PYTHONUNBUFFERED="1",
            SUPPORTDESK_CELERY_QUEUE="faults",
            SUPPORTDESK_VAR_DIR=str(self.dir / "var"),
            DJANGO_SETTINGS_MODULE="supportdesk.settings",
        )
        env.update(extra)
        return env

    # --- PostgreSQL -----------------------------------------------------------------------

    def pg_restart(self, down_seconds: float = 2.0) -> None:
        """Stop PostgreSQL at once (connections cut), wait, start it again as it was."""
        data = self.dir / "pg" / "data"
        # The server's command line as started (port, socket folder, settings).
        words = shlex.split((data / "postmaster.opts").read_text())[1:]
        options = " ".join(shlex.quote(w) for w in _without_data_dir(words))
        self._pg_ctl("stop", "-m", "immediate")
        time.sleep(down_seconds)
        self._pg_ctl("start", "-l", str(self.dir / "pg" / "log"), "-o", options)

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.pgbin / "pg_ctl"),
                "-D",
                str(self.dir / "pg" / "data"),
                "-w",
                *args,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    # --- Redis ----------------------------------------------------------------------------

    @property
    def redis_pid(self) -> int:
        return int((self.dir / "redis" / "redis.pid").read_text().strip())

    def redis_restart(self, down_seconds: float = 1.0) -> None:
        """Kill Redis (no persistence: every queue entry is lost) and start it again."""
        pid = self.redis_pid
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)
        (self.dir / "redis" / "redis.pid").unlink(missing_ok=True)
        time.sleep(down_seconds)
        subprocess.run(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(self.dir / "redis"),
                "--pidfile",
                str(self.dir / "redis" / "redis.pid"),
                "--logfile",
                str(self.dir / "redis" / "log"),
            ],
            check=True,
            timeout=30,
        )
        for _ in range(100):
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise AssertionError("Redis did not come back")

    def redis_freeze(self) -> None:
        os.kill(self.redis_pid, signal.SIGSTOP)

    def redis_thaw(self) -> None:
        os.kill(self.redis_pid, signal.SIGCONT)

    def stop(self) -> None:
        try:
            self.redis_thaw()
        except (OSError, ValueError):
            pass
        self._bash(f'services_stop "{self.dir}"')
        shutil.rmtree(self.dir, ignore_errors=True)

    def _bash(self, script: str) -> str:
        done = subprocess.run(
            ["bash", "-c", f"source .ci/services.sh && {script}"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout.strip()


def _without_data_dir(words: list[str]) -> list[str]:
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == "-D":
            skip = True
        else:
            out.append(word)
    return out


def _wait_gone(pid: int) -> None:
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.05)
