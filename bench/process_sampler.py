"""CPU and memory of every process on the machine, sampled from ``/proc`` (the incremental benchmark).

Task processes under the LocalExecutor live a few seconds and are not our children, so their cost cannot be
read when they end: a thread samples every process each ``interval`` seconds instead. Per process it keeps
the CPU seconds (``utime + stime``, so a process that exits between samples loses at most one interval) and
the peak RSS (``VmHWM``, the kernel's own high-water mark, so a peak between samples is not missed while the
process lives). ``window()`` sums a stretch of time by component: Airflow's scheduler, its task processes,
the api-server and dag-processor, Postgres, the sandbox, and the rest; and the machine's busy share of its
cores from ``/proc/stat``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class _Process:
    component: str
    title: str
    cpu: float
    peak_rss_mb: float
    last_seen: float


@dataclass
class _Mark:
    at: float
    busy: float
    total: float
    cpu_by_process: dict[int, float] = field(default_factory=dict)


def component(title: str) -> str:
    """Which part of the deployment a process title (``/proc/<pid>/cmdline``) belongs to."""
    if "postgres" in title:
        return "postgres"
    if "lumina_sandbox" in title or "moto" in title or "s3_server" in title:
        return "sandbox"
    if title.startswith("airflow"):
        # Airflow 3 names its processes (setproctitle): the LocalExecutor's workers, the supervisor each
        # starts per task, and the task process it forks ("airflow worker -- <task instance id>").
        if title.startswith("airflow supervisor:"):
            return "airflow task supervisors"
        if "LocalExecutor" in title or "<idle>" in title:
            return "airflow executor workers"
        if title.startswith("airflow worker -- "):
            return "airflow task processes"
        for name in ("api_server", "serve-logs"):
            if name in title:
                return f"airflow {name}"
        return "airflow other"
    if "bin/airflow " in title:  # a component without a title of its own: `<python> <venv>/bin/airflow scheduler`
        words = title.split("bin/airflow ", 1)[1].split()
        return f"airflow {words[0] if words else 'other'}"
    return "other"


def _cpu_times() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / TICKS, total / TICKS


class ProcessSampler:
    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.processes: dict[tuple[int, float], _Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="process-sampler", daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        now = time.monotonic()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                status = Path(f"/proc/{pid}/status").read_text()
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # gone since the listing
            parts = stat[stat.rindex(")") + 2 :].split()
            cpu = (int(parts[11]) + int(parts[12])) / TICKS
            started = int(parts[19])  # start time in ticks: tells a reused pid from the old one
            rss = next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)
            key = (pid, started)
            with self._lock:
                known = self.processes.get(key)
                if known is None:
                    self.processes[key] = _Process(component(title), title[:200], cpu, rss, now)
                else:
                    known.cpu, known.peak_rss_mb, known.last_seen = cpu, max(known.peak_rss_mb, rss), now
                    if title and title[:200] != known.title:  # renamed since (a forked task process)
                        known.component, known.title = component(title), title[:200]

    def mark(self) -> _Mark:
        """A point in time to measure from (``window(mark)``)."""
        self.sample()
        busy, total = _cpu_times()
        with self._lock:
            by_process = {id(p): p.cpu for p in self.processes.values()}
        return _Mark(time.monotonic(), busy, total, by_process)

    def window(self, start: _Mark, cores: int | None = None) -> dict[str, Any]:
        """CPU seconds by component, the machine's busy share and the peak RSS per component since ``start``."""
        self.sample()
        busy, total = _cpu_times()
        seconds = time.monotonic() - start.at
        cpu: dict[str, float] = {}
        peak: dict[str, float] = {}
        with self._lock:
            for process in self.processes.values():
                if process.last_seen < start.at:
                    continue
                # A process first seen after the mark was born in the window: all its CPU counts.
                before = start.cpu_by_process.get(id(process), 0.0)
                cpu[process.component] = cpu.get(process.component, 0.0) + max(0.0, process.cpu - before)
                peak[process.component] = max(peak.get(process.component, 0.0), process.peak_rss_mb)
        cores = cores or os.cpu_count() or 1
        return {
            "seconds": round(seconds, 2),
            "cpu_seconds_by_component": {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
            "cpu_busy_share": round((busy - start.busy) / max(1e-9, total - start.total), 3),
            "cores_busy": round((busy - start.busy) / max(1e-9, seconds), 2),
            "cores": cores,
            "peak_rss_mb_by_component": {k: round(v) for k, v in sorted(peak.items())},
        }

    def peak_rss_of(self, pid: int) -> float | None:
        """The peak RSS in MB of the latest process seen with ``pid`` (None: never sampled alive)."""
        with self._lock:
            seen = [(p.last_seen, p.peak_rss_mb) for (number, _), p in self.processes.items() if number == pid]
        return round(max(seen)[1]) if seen else None
