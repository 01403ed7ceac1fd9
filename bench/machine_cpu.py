"""Where the whole machine's CPU goes while a bench loads a server: /proc only, no Django.

A latency at 32 connections on 2 cores follows what *all* the processes take from the
cores, not only the server's workers. ``Sampler`` reads, at the start and the end of a
load:

* /proc/stat's busy jiffies (user, nice, system, irq, softirq; steal apart: the
  hypervisor's, not this machine's work), and its run queue (``procs_running``) sampled
  every 50 ms in a thread, with PSI's CPU "some" stall time (/proc/pressure/cpu: the
  share of the time at least one runnable task waited for a core);
* every process's own CPU (utime + stime) **and** its reaped children's (cutime +
  cstime): wrk, run and reaped by the bench, and PostgreSQL's short-lived autovacuum
  workers and backends, reaped by the postmaster, count for their parents that way.

Each process is put in a group by a classifier the bench passes (pid sets it knows:
gunicorn, its backends, the writer…); kernel threads (children of kthreadd, pid 2) form
their own group, and what no process was charged with (interrupts and softirq that the
kernel accounts apart, processes that began and ended unreaped inside the load) is
``unattributed``. The groups add up to the machine's busy time.
"""

from __future__ import annotations

import os
import threading
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
KTHREADD = 2


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    name: str
    start: int  # ticks after boot: tells a reused pid from the process read before
    own: int  # utime + stime, ticks
    children: int  # cutime + cstime of reaped children, ticks
    system: int  # stime: the kernel's work for it (syscalls: sockets, pipes, files)
    children_system: int  # cstime


def read_procs() -> dict[int, Proc]:
    """Return every live process's CPU so far, by pid."""
    procs = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        procs[pid] = Proc(
            pid=pid,
            ppid=int(fields[1]),
            name=name,
            start=int(fields[19]),
            own=int(fields[11]) + int(fields[12]),
            children=int(fields[13]) + int(fields[14]),
            system=int(fields[12]),
            children_system=int(fields[14]),
        )
    return procs


def read_stat() -> dict[str, int]:
    """Return the machine's jiffies by kind (all cores) and the run queue now."""
    lines = Path("/proc/stat").read_text().splitlines()
    values = [int(x) for x in lines[0].split()[1:]]
    kinds = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    out = dict(zip(kinds, values, strict=False))
    for line in lines:
        if line.startswith("procs_running"):
            out["procs_running"] = int(line.split()[1])
    return out


def read_psi_some_us() -> int | None:
    """Return PSI's CPU "some" stall total in microseconds, or None without PSI."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    return int(first.rsplit("total=", 1)[1])


def busy(stat: dict[str, int]) -> int:
    """Return the jiffies the cores worked for this machine (steal left out)."""
    return sum(stat[k] for k in ("user", "nice", "system", "irq", "softirq"))


@dataclass
class Sampler:
    """Measure one load: ``start()``, run the load, ``stop()``, then ``split(...)``."""

    interval: float = 0.05
    queue: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.procs0 = read_procs()
        self.stat0 = read_stat()
        self.psi0 = read_psi_some_us()
        self.t0 = clock.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.queue.append(read_stat()["procs_running"])

    def stop(self) -> None:
        self.seconds = clock.monotonic() - self.t0
        self.procs1 = read_procs()
        self.stat1 = read_stat()
        self.psi1 = read_psi_some_us()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def deltas(self) -> dict[int, tuple[int, int, int, int]]:
        """Return each process's own CPU ticks in the load and its reaped children's,
        then the system (kernel) part of each."""
        before, after = self.procs0, self.procs1
        zero = Proc(0, 0, "", 0, 0, 0, 0, 0)
        out: dict[int, tuple[int, int, int, int]] = {}
        for pid, proc in after.items():
            was = before.get(pid)
            if was is None or was.start != proc.start:  # began in the load
                was = zero
            out[pid] = (
                proc.own - was.own,
                proc.children - was.children,
                proc.system - was.system,
                proc.children_system - was.children_system,
            )

        # A child that ended in the load is in its parent's children total whole: take
        # off what it had used before the load began, from the nearest ancestor still
        # alive (a parent that ended too handed its children's totals up with its own).
        # A child re-parented before it was reaped (to init, a subreaper) is missed: its
        # time before the load then shows as a negative "unattributed".
        def gone(pid: int) -> bool:
            return pid not in after or after[pid].start != before[pid].start

        for pid, was in before.items():
            if not gone(pid):
                continue
            parent = was.ppid
            while parent in before and gone(parent):
                parent = before[parent].ppid
            if parent in out:
                own, children, system, children_system = out[parent]
                out[parent] = (
                    own,
                    children - was.own - was.children,
                    system,
                    children_system - was.system - was.children_system,
                )
        return out

    def split(
        self,
        classify: Callable[[Proc], str],
        requests: int,
        reaped: dict[int, str] | None = None,
    ) -> dict[str, Any]:
        """Return the machine's CPU a request by group, and the run queue.

        ``classify`` names a process's group, or "" for "other processes" (a kernel thread
        is "kernel threads" whatever it answers); ``reaped`` names the group of a pid's
        reaped children where it is not the parent's own (the bench's wrk)."""
        reaped = reaped or {}
        by_group: dict[str, int] = {}
        system: dict[str, int] = {}
        for pid, (own, children, own_sys, children_sys) in self.deltas().items():
            proc = self.procs1[pid]
            group = classify(proc) or (
                "kernel threads" if KTHREADD in (proc.pid, proc.ppid) else "other processes"
            )
            by_group[group] = by_group.get(group, 0) + own
            system[group] = system.get(group, 0) + own_sys
            group = reaped.get(pid, group)
            by_group[group] = by_group.get(group, 0) + children
            system[group] = system.get(group, 0) + children_sys
        machine = busy(self.stat1) - busy(self.stat0)
        by_group["unattributed"] = machine - sum(by_group.values())
        per_request = max(requests, 1)

        def ms(ticks: float) -> float:
            return round(ticks / TICKS * 1000 / per_request, 3)

        psi = None
        if self.psi0 is not None and self.psi1 is not None:
            psi = round((self.psi1 - self.psi0) / 1e6 / self.seconds, 3)
        kinds = {k: ms(self.stat1[k] - self.stat0[k]) for k in ("user", "system", "softirq", "irq")}
        queue = sorted(self.queue) or [0]
        return {
            "machine_cpu_ms_per_request": ms(machine),
            "by_kind_ms": kinds,
            "by_group_ms": {k: ms(v) for k, v in sorted(by_group.items(), key=lambda x: -x[1])},
            # Of each group's, the part spent in the kernel on its behalf.
            "by_group_system_ms": {k: ms(v) for k, v in system.items()},
            "machine_cores_busy": round(machine / TICKS / self.seconds, 2),
            "steal_cores": round(
                (self.stat1["steal"] - self.stat0["steal"]) / TICKS / self.seconds, 2
            ),
            # procs_running counts this sampler's own read too: minus one.
            "run_queue_mean": round(sum(queue) / len(queue) - 1, 2),
            "run_queue_p95": queue[int(0.95 * (len(queue) - 1))] - 1,
            "psi_cpu_some": psi,
        }
