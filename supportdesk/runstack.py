"""Run the whole stack in one terminal: web server, Celery worker and Celery beat.

``python -m supportdesk.runstack [--port 8000]`` (what ``make run`` calls). Ctrl-C stops
all three; if one of them exits, the others are stopped too and the exit code says so.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10


def commands(port: int, host: str, var_dir: Path) -> dict[str, list[str]]:
    """Return the command line of each process of the stack."""
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "supportdesk"]
    return {
        "web": [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [
            *celery,
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(var_dir / "celerybeat-schedule"),
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    var_dir = Path(os.environ.get("SUPPORTDESK_VAR_DIR", BASE_DIR / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Links in mails sent by the worker (satisfaction surveys) point at this server.
    env.setdefault("SUPPORTDESK_PUBLIC_URL", f"http://{args.host}:{args.port}")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, cmd in commands(args.port, args.host, var_dir).items():
        # Own process groups: Ctrl-C reaches us once, and we stop the children in order.
        procs[name] = subprocess.Popen(cmd, cwd=BASE_DIR, env=env, start_new_session=True)  # noqa: S603
    print(
        f"SupportDesk: workspace at http://{args.host}:{args.port}/desk/, portal at "
        f"http://{args.host}:{args.port}/portal/, admin at http://{args.host}:{args.port}/admin/ "
        "— Ctrl-C stops web, worker and beat.",
        flush=True,
    )

    exit_code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(
                    f"runstack: {name} exited with code {proc.returncode}; stopping the others.",
                    file=sys.stderr,
                    flush=True,
                )
                exit_code = proc.returncode or 1
                stopping = True
                break
        time.sleep(0.3)
    _terminate(procs)
    return exit_code


def _terminate(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    # SIGTERM to the leaders only: celery then stops its own pool children gracefully.
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
