"""Memory, open files and lag of the four real workers under a long steady load (a soak test).

    newswire bench soak [--minutes 30] [--fraction 0.5] [--drain-pages 200] [--sample-seconds 10] [--plot soak.png]

Starts the four real workers against the running local stack (workers/benchmarks/live.py), measures capacity
from a backlog of `--drain-pages` pages as `bench pipeline` does, then produces real pages at `--fraction` of
it for `--minutes`, one minute's pages at a time. Every `--sample-seconds` it records, per worker, the resident
memory of its process tree (the sum, and its largest process: a forked pool shares pages with its parent, so
the sum is an upper bound) and the tree's open file descriptors (files, sockets, pipes: what leaks first);
per stage, the consumer lag that the stage itself publishes (`newswire_consumer_lag_messages`, refreshed every
5 s); and the documents indexed. After the last page it waits until every page is indexed or dead-lettered.
Growth is read as the least-squares slope over the second half of the run (the first half includes the
allocator and caches settling) and as last sample minus first.

    python -m workers.benchmarks.soak RESULT.json OUT.png   # redraw the plot from a saved --json line
"""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import orjson
import psutil

from workers import topics
from workers.benchmarks.live import LiveRun
from workers.benchmarks.pages import raw_record
from workers.benchmarks.pipeline import WARM_UP_PAGES, PageFeed, machine

CHUNK_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = 600.0


def add_arguments(parser) -> None:
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to keep the steady load on")
    parser.add_argument("--fraction", type=float, default=0.5, help="offered load as a share of measured capacity")
    parser.add_argument("--drain-pages", type=int, default=200, help="pages of the capacity (backlog) batch")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="time between samples")
    parser.add_argument("--plot", default=None, help="write RSS, open files and lag over time (PNG) here")
    parser.add_argument("--cluster", action="store_true",
                        help="run against the local cluster mode (stack.sh start --cluster) and its metrics ports")


def tree_usage(pid: int) -> dict:
    """Resident memory (MiB: sum over the tree, largest process) and open descriptors of a process tree."""
    rss, fds = [], 0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            rss.append(process.memory_info().rss)
            fds += process.num_fds()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return {"rss_mb": round(sum(rss) / 2**20, 1), "largest_mb": round(max(rss, default=0) / 2**20, 1),
            "open_fds": fds, "processes": len(rss)}


def stage_lag(metrics_text: str) -> int:
    """The sum over partitions of `newswire_consumer_lag_messages` in a worker's /metrics text."""
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in metrics_text.splitlines()
                   if line.startswith("newswire_consumer_lag_messages{")))


def _lag(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return stage_lag(response.read().decode())
    except OSError:
        return None


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, in value per hour; None with fewer than 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return 3600 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


class Sampler(threading.Thread):
    def __init__(self, live: LiveRun, interval: float, started: float):
        super().__init__(name="soak-sampler", daemon=True)
        self.live, self.interval, self.started = live, interval, started
        self.samples: list[dict] = []
        self.errors: list[BaseException] = []
        self._stop_event = threading.Event()

    def sample(self) -> dict:
        self.live.es.indices.refresh(index=self.live.alias)
        return {
            "seconds": round(time.monotonic() - self.started, 1),
            "workers": {stage: tree_usage(pid) for stage, pid in self.live.worker_pids.items()},
            "lag": {stage: _lag(self.live.pipeline.metrics_ports[stage]) for stage in self.live.worker_pids},
            "indexed": self.live.es.count(index=self.live.alias)["count"],
        }

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append(self.sample())
            except Exception as error:  # reported by the benchmark; a sampling failure must not hang it
                self.errors.append(error)
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _produce_steadily(live: LiveRun, feed: PageFeed, rate: float, seconds: float) -> int:
    sent, chunk, started = 0, 0, time.monotonic()
    while (left := seconds - (time.monotonic() - started)) > 0:
        pages = feed.batch(f"soak-{chunk}", max(1, round(rate * min(CHUNK_SECONDS, left))))
        live.pipeline.produce_many(topics.RAW, [(*raw_record(page), None) for page in pages], rate)
        sent += len(pages)
        chunk += 1
    return sent


def summarise(samples: list[dict], load_ended: float) -> dict:
    """Per worker: RSS and open descriptors first, last, max and their slope over the second half of the load;
    per stage: lag max and at the end of the load."""
    during = [s for s in samples if s["seconds"] <= load_ended] or samples
    second_half = [s for s in during if s["seconds"] >= during[0]["seconds"] + (load_ended - during[0]["seconds"]) / 2]
    workers = {}
    for worker in samples[0]["workers"]:
        series = {key: [(s["seconds"], s["workers"][worker][key]) for s in during] for key in ("rss_mb", "open_fds")}
        half = {key: [(s["seconds"], s["workers"][worker][key]) for s in second_half] for key in ("rss_mb", "open_fds")}
        workers[worker] = {
            **{f"{key}_{name}": value for key in series for name, value in (
                ("first", series[key][0][1]), ("last", series[key][-1][1]), ("max", max(v for _, v in series[key])))},
            "rss_mb_per_hour_second_half": _round(slope_per_hour(half["rss_mb"])),
            "open_fds_per_hour_second_half": _round(slope_per_hour(half["open_fds"])),
            "largest_process_mb_max": max(s["workers"][worker]["largest_mb"] for s in during),
        }
    lags = {}
    for stage in samples[0]["lag"]:
        values = [s["lag"][stage] for s in during if s["lag"][stage] is not None]
        lags[stage] = {"max": max(values, default=None), "at_end_of_load": values[-1] if values else None}
    return {"workers": workers, "lag": lags}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_benchmark(minutes: float = 30.0, fraction: float = 0.5, drain_pages: int = 200, sample_seconds: float = 10.0,
                  data_dir: str | None = None, cluster: bool = False) -> dict:
    feed = PageFeed(data_dir, f"s{int(time.time())}")
    started_at = datetime.now(timezone.utc)
    machine_before = machine()
    with LiveRun(cluster=cluster) as live:
        live.run_batch(feed.batch("warm-up", WARM_UP_PAGES))
        drain = live.run_batch(feed.batch("capacity", drain_pages))
        capacity = drain.done / drain.wall_seconds
        rate = fraction * capacity
        indexed_before, dead_before = live.es.count(index=live.alias)["count"], live.dead_letter_count()
        started = time.monotonic()
        sampler = Sampler(live, sample_seconds, started)
        sampler.start()
        try:
            sent = _produce_steadily(live, feed, rate, minutes * 60)
            load_ended = time.monotonic() - started
            deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
            while True:
                live.es.indices.refresh(index=live.alias)
                indexed = live.es.count(index=live.alias)["count"] - indexed_before
                dead = live.dead_letter_count() - dead_before
                if indexed + dead >= sent or time.monotonic() > deadline:
                    break
                live.pipeline.assert_workers_alive()
                time.sleep(1)
            drained_seconds = time.monotonic() - started - load_ended
        finally:
            sampler.stop()
        if sampler.errors:
            raise sampler.errors[0]
    return {
        "date": started_at.isoformat(timespec="seconds"),
        "machine": {**machine_before, "load_average_after": machine()["load_average"]},
        "minutes": minutes,
        "capacity_pages_per_second": round(capacity, 2),
        "offered_per_second": round(rate, 2),
        "sent": sent,
        "indexed": indexed,
        "dead_letters": dead,
        "drained_seconds_after_load": round(drained_seconds, 1),
        **summarise(sampler.samples, load_ended),
        "samples": sampler.samples,
    }


def print_table(result: dict) -> None:
    print(f"soak: {result['minutes']} min at {result['offered_per_second']} pages/s "
          f"({result['offered_per_second'] / result['capacity_pages_per_second']:.0%} of the measured capacity "
          f"{result['capacity_pages_per_second']}/s); sent {result['sent']}, indexed {result['indexed']}, "
          f"dead-lettered {result['dead_letters']}, drained {result['drained_seconds_after_load']} s after the load")
    print(f"{'worker':<10}{'RSS MB first':>13}{'last':>8}{'max':>8}{'MB/h (2nd half)':>17}"
          f"{'largest MB':>12}{'fds first':>11}{'last':>6}{'max':>6}{'fds/h':>8}")
    for worker, w in result["workers"].items():
        print(f"{worker:<10}{w['rss_mb_first']:>13.1f}{w['rss_mb_last']:>8.1f}{w['rss_mb_max']:>8.1f}"
              f"{_fmt(w['rss_mb_per_hour_second_half']):>17}{w['largest_process_mb_max']:>12.1f}"
              f"{w['open_fds_first']:>11}{w['open_fds_last']:>6}{w['open_fds_max']:>6}{_fmt(w['open_fds_per_hour_second_half']):>8}")
    print("lag (records, summed over partitions): " + ", ".join(
        f"{stage} max {lag['max']} / at end of load {lag['at_end_of_load']}" for stage, lag in result["lag"].items()))
    print(f"{len(result['samples'])} samples; machine: {result['machine']['cpus']} CPUs, load average "
          f"{result['machine']['load_average']} before, {result['machine']['load_average_after']} after")
    if result.get("plot"):
        print(f"plot: {result['plot']}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def plot_soak(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    samples = result["samples"]
    minutes = [s["seconds"] / 60 for s in samples]
    figure, (rss_axes, fd_axes, lag_axes) = plt.subplots(1, 3, figsize=(15, 4.2), dpi=110)
    for worker in samples[0]["workers"]:
        rss_axes.plot(minutes, [s["workers"][worker]["rss_mb"] for s in samples], label=worker)
        fd_axes.plot(minutes, [s["workers"][worker]["open_fds"] for s in samples], label=worker)
    for stage in samples[0]["lag"]:
        lag_axes.plot(minutes, [s["lag"][stage] for s in samples], label=stage)
    for axes, title, unit in ((rss_axes, "Resident memory per worker (process tree)", "MiB"),
                              (fd_axes, "Open file descriptors per worker", "descriptors"),
                              (lag_axes, "Consumer lag per stage", "records")):
        axes.axvline(result["minutes"], linestyle=":", color="grey")
        axes.set(xlabel="minutes", ylabel=unit, title=title)
        axes.set_ylim(bottom=0)
        axes.legend(loc="upper left", fontsize=8)
    figure.suptitle(f"newswire soak, {result['date'][:10]}: {result['offered_per_second']} pages/s "
                    f"({result['offered_per_second'] / result['capacity_pages_per_second']:.0%} of capacity) for "
                    f"{result['minutes']} min, {result['machine']['cpus']} cores shared (dotted: load ends)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def measure(args) -> dict:
    result = run_benchmark(args.minutes, args.fraction, args.drain_pages, args.sample_seconds, args.data_dir,
                           args.cluster)
    if args.plot:
        plot_soak(result, args.plot)
        result["plot"] = args.plot
    return result


def main(argv: list[str]) -> int:
    """python -m workers.benchmarks.soak RESULT.json OUT.png: redraw the plot from a saved --json line."""
    result_path, output = argv
    plot_soak(orjson.loads(Path(result_path).read_bytes().strip().splitlines()[-1]), output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
