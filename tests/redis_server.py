"""A throwaway redis-server for tests that stop, freeze and restart it."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import redis

from .processes import free_port, wait_until


class RedisServer:
    """Debian's redis-server on a free loopback port, with no persistence."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: apt-get install redis-server"
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_until(lambda: _pings(client), 20, "the throwaway redis-server to answer")

    def stop(self) -> None:
        """Stop it (its data is gone, as after a restart without persistence)."""
        assert self.proc is not None
        self.thaw()
        self.proc.terminate()
        self.proc.wait(timeout=20)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, never answered."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)


def desk_cache_on(settings: Any, server: RedisServer, prefix: str) -> None:
    """Put the cache and the sessions on ``server``, as in production, with short socket
    timeouts (a stopped server fails fast) and Redis tried on every call (deterministic)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    settings.SESSION_ENGINE = "supportdesk.sessions"
    settings.SUPPORTDESK_REDIS_RETRY_SECONDS = 0


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
