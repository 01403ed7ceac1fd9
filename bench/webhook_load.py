"""Webhook load for bench/ingest.py: a gunicorn serving the desk, and an open-loop client
that posts Postmark inbound webhooks (the raw MIME in ``RawEmail``) at a fixed rate.

Open loop: delivery i is due at ``start + i / rate`` whatever the answers before it, as an
ESP delivers; a pool of threads with keep-alive connections sends each when it is due.
Per delivery the client records when it was due, sent, answered and read. The ack time
is answered - sent, where "answered" is the kernel's receive time of the answer's first
bytes (SO_TIMESTAMPNS): this client is Python on the same two cores as the server, and the
time its thread then waits for a core and the GIL before it reads the answer is its own
lag, not the server's (read - sent is reported beside it); answer - due adds the lag
before sending.
"""

from __future__ import annotations

import base64
import gc
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench:webhook-secret"  # noqa: S105 - a throwaway bench credential
PATH = "/anymail/postmark/inbound/"


# The web service as production runs it: supportdesk/gunicorn.conf.py and the Dockerfile's
# and docker-compose.yml's three sync workers (this bench ran two, without the file).
WEB_WORKERS = 3


def start_web(port: int, env: dict[str, str], workers: int = WEB_WORKERS) -> subprocess.Popen:
    """Start gunicorn (sync workers) on 127.0.0.1:port; return once it answers."""
    env = {**env, "ANYMAIL_WEBHOOK_SECRET": SECRET, "SUPPORTDESK_INBOUND_ESPS": "postmark"}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "supportdesk.wsgi", "-c", "supportdesk/gunicorn.conf.py",
         "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("gunicorn did not start within 60 s")


def body(raw: bytes) -> bytes:
    return json.dumps(
        {
            "FromFull": {"Email": "bench@example.org", "Name": ""},
            "ToFull": [{"Email": "support@supportdesk.localhost", "Name": ""}],
            "Subject": "see RawEmail",
            "Headers": [],
            "RawEmail": raw.decode("utf-8", "replace"),
        }
    ).encode()


@dataclass
class Delivery:
    index: int  # which mail
    due: float
    sent: float = 0.0
    answered: float = 0.0  # the answer's first bytes arrived (the kernel's receive time)
    done: float = 0.0  # the client had read the whole answer
    status: int = 0


# Linux: the kernel stamps each received packet; the stamp comes with a recvmsg (the
# value of SO_TIMESTAMPNS, which Python's socket module does not name everywhere).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


class StampedConnection(http.client.HTTPConnection):
    """A connection whose socket delivers the kernel's receive time of each packet."""

    def connect(self) -> None:
        super().connect()
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass  # no stamps: ``answered`` falls back to the client's own clock

    def answer_arrived(self, shift: float) -> float:
        """Wait for the answer's first bytes, without reading them; return when the kernel
        received them (on the monotonic clock: ``shift`` is time.time() - monotonic())."""
        try:
            _, ancillary, _, _ = self.sock.recvmsg(1, 1024, socket.MSG_PEEK)
        except OSError:
            return time.monotonic()
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                seconds, nanoseconds = struct.unpack("qq", data[:16])
                return seconds + nanoseconds / 1e9 - shift
        return time.monotonic()


def _thread_sched() -> tuple[int, int]:
    """This thread's CPU time and its time runnable but waiting for a core (ns, Linux)."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            cpu, waited = stat.read().split()[:2]
    except OSError:
        return 0, 0
    return int(cpu), int(waited)


def post_at_rate(
    port: int,
    bodies: list[bytes],
    rate: float,
    *,
    threads: int = 48,
    retry_every: int = 0,
    client: dict[str, float] | None = None,
) -> list[Delivery]:
    """Post ``bodies`` at ``rate`` per second; every ``retry_every``-th one is posted a
    second time at once by another connection (an ESP retry storm). Return every
    delivery (retries included) with its times. ``client``: filled with the posting
    threads' own CPU and run-queue wait, in ms (is the client measuring itself?)."""
    start = time.monotonic() + 0.5
    plan = [Delivery(i, start + i / rate) for i in range(len(bodies))]
    if retry_every:
        plan += [Delivery(d.index, d.due) for d in plan[::retry_every]]
        plan.sort(key=lambda d: d.due)
    cursor = iter(plan)
    lock = threading.Lock()
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()

    totals = {"cpu_ms": 0.0, "runq_ms": 0.0}

    shift = time.time() - time.monotonic()

    def work() -> None:
        cpu0, waited0 = _thread_sched()
        conn = StampedConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                delivery = next(cursor, None)
            if delivery is None:
                conn.close()
                cpu, waited = _thread_sched()
                with lock:
                    totals["cpu_ms"] += (cpu - cpu0) / 1e6
                    totals["runq_ms"] += (waited - waited0) / 1e6
                return
            pause = delivery.due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            payload = bodies[delivery.index]
            for attempt in range(2):  # a connection the server closed: open a new one
                try:
                    delivery.sent = time.monotonic()
                    conn.request(
                        "POST", PATH, payload,
                        {"Content-Type": "application/json", "Authorization": auth},
                    )  # fmt: skip
                    delivery.answered = conn.answer_arrived(shift)
                    response = conn.getresponse()
                    response.read()
                    delivery.done, delivery.status = time.monotonic(), response.status
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = StampedConnection("127.0.0.1", port, timeout=30)
                    if attempt:
                        delivery.done, delivery.status = time.monotonic(), -1
                        delivery.answered = delivery.done

    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    # The client's own full collections stopped all its threads for 250-400 ms at a time
    # (this process has Django loaded), and were counted as the server's ack time.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        gc.enable()
        gc.unfreeze()
    if client is not None:
        client.update(totals)
    return plan


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
