"""Measuring helpers shared by the benchmarks: percentiles, and CPU time and memory of a worker's processes.

A worker is a process tree (the faust or confluent-kafka process and its one-process stage pool); its CPU time
is the sum over the tree, every thread included (Kafka client threads, the event loop, the pool), read with
psutil. Peak RSS is the kernel's high-water mark (VmHWM in /proc/<pid>/status), exact however short the peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import psutil


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: list[float]) -> dict:
    return {"count": len(seconds), **{f"p{q}": _round(percentile(seconds, q)) for q in (50, 95, 99)},
            "max": _round(max(seconds) if seconds else None)}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass(frozen=True)
class TreeSnapshot:
    cpu_seconds: float  # user + system over the tree since each process started
    peak_rss_bytes: dict[int, int]  # per pid: the high-water mark so far


def snapshot(pid: int) -> TreeSnapshot:
    """CPU and peak memory of a process and all its descendants (processes that vanish meanwhile are skipped)."""
    cpu, peaks = 0.0, {}
    for process in _tree(pid):
        try:
            cpu += _cpu_seconds(process)
            peaks[process.pid] = _peak_rss_bytes(process.pid)
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
            continue
    return TreeSnapshot(cpu, peaks)


def snapshot_workers(pids: dict[str, int]) -> dict[str, TreeSnapshot]:
    return {name: snapshot(pid) for name, pid in pids.items()}


def cpu_spent(before: dict[str, TreeSnapshot], after: dict[str, TreeSnapshot]) -> dict[str, float]:
    return {name: after[name].cpu_seconds - before[name].cpu_seconds for name in after}


def peak_rss_mb(snapshots: dict[str, TreeSnapshot]) -> dict[str, dict]:
    """Per worker: the largest process's peak and the sum of every process's peak (an upper bound: a forked pool
    shares pages with its parent, counted twice here)."""
    return {name: {"largest_process": round(max(s.peak_rss_bytes.values(), default=0) / 2**20, 1),
                   "tree_sum": round(sum(s.peak_rss_bytes.values()) / 2**20, 1),
                   "processes": len(s.peak_rss_bytes)}
            for name, s in snapshots.items()}


def listening_pids(ports: dict[str, int]) -> dict[str, int]:
    """The processes listening on the given local TCP ports (e.g. the broker and the engine), by name."""
    owners = {conn.laddr.port: conn.pid for conn in psutil.net_connections("tcp")
              if conn.status == psutil.CONN_LISTEN and conn.pid}
    return {name: owners[port] for name, port in ports.items() if port in owners}


def busy_cores(before, after) -> float:
    """How many cores the whole machine kept busy, on average, between two psutil.cpu_times() readings."""
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (after.iowait - before.iowait)
    return psutil.cpu_count() * (total - idle) / total if total > 0 else 0.0


def output_rate(done_times: list[float]) -> float | None:
    """Completions per second over the middle 80 % of the completions (skips the pipeline filling and the
    last stragglers, and spreads the refresh-interval steps of `searchable` over a long span)."""
    times = sorted(done_times)
    if len(times) < 10:
        return None
    first, last = round(0.1 * (len(times) - 1)), round(0.9 * (len(times) - 1))
    span = times[last] - times[first]
    return (last - first) / span if span > 0 else None
