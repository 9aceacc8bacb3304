"""Throughput and latency of the whole pipeline: real pages through Kafka, every worker and the engine.

    newswire bench pipeline [--drain-pages 200] [--step-seconds 15] [--plot docs/bench-load.png] [--json]

Starts the four real workers against the running local stack (fresh topics and index, shipped defaults),
then, after a warm-up batch:
1. capacity: `--drain-pages` pages produced at once; all of them over the time until the last is searchable
   (filling the pipeline included, so a rate it can sustain) is the maximum, read beside the workers' CPU
   time (pages per CPU second);
2. rising load: steps at fixed fractions of that capacity, each `--step-seconds` long (the 50 % step twice as
   long: it gives the latency figures), each timed page by page from raw-topic timestamp to searchable; a step
   "kept up" when its output rate reached 95 % of the offered rate.
Latency, CPU and memory are measured as workers/benchmarks/live.py describes.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import datetime, timezone

import psutil

from workers.benchmarks.live import LiveRun
from workers.benchmarks.pages import cycle, load_source_pages

LOAD_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.25)
LATENCY_FRACTION = 0.5
KEPT_UP = 0.95  # a step kept up when its output rate reached this share of the offered rate
WARM_UP_PAGES = 20
MIN_STEP_PAGES = 20


def add_arguments(parser) -> None:
    parser.add_argument("--drain-pages", type=int, default=200, help="pages of the capacity (backlog) batch")
    parser.add_argument("--step-seconds", type=float, default=15.0, help="length of each load step")
    parser.add_argument("--plot", default=None, help="write the throughput and latency plot (PNG) here")
    parser.add_argument("--index-batch-seconds", type=float, default=None,
                        help="the indexer's longest wait to fill a bulk (default: the shipped setting)")
    parser.add_argument("--refresh-interval", default=None,
                        help="override the index template's refresh interval for this run, e.g. 500ms")


def machine() -> dict:
    return {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "load_average": [round(value, 2) for value in os.getloadavg()]}


class PageFeed:
    """Distinct pages for each batch, continuing round the sources; each batch has a `source` of its own."""

    def __init__(self, data_dir: str | None, run_tag: str):
        self.sources, self.run_tag, self.position = load_source_pages(data_dir), run_tag, 0

    def batch(self, name: str, count: int):
        pages = cycle(self.sources, count, self.run_tag, self.position, source=f"bench-{self.run_tag}-{name}")
        self.position += count
        return pages


def run_benchmark(drain_pages: int = 200, step_seconds: float = 15.0, data_dir: str | None = None,
                  index_batch_seconds: float | None = None, refresh_interval: str | None = None) -> dict:
    feed = PageFeed(data_dir, f"p{int(time.time())}")
    started = datetime.now(timezone.utc)
    machine_before = machine()
    with LiveRun(index_batch_seconds=index_batch_seconds, refresh_interval=refresh_interval) as live:
        live.run_batch(feed.batch("warm-up", WARM_UP_PAGES))
        drain = live.run_batch(feed.batch("capacity", drain_pages))
        capacity = drain.done / drain.wall_seconds  # the whole backlog over the whole time: filling included
        steps = []
        for fraction in LOAD_FRACTIONS:
            rate = fraction * capacity
            seconds = step_seconds * (2 if fraction == LATENCY_FRACTION else 1)
            batch = live.run_batch(feed.batch(f"load-{fraction}", max(MIN_STEP_PAGES, round(rate * seconds))), rate)
            summary = batch.summary()
            steps.append({"fraction": fraction, "kept_up": summary["output_per_second"] >= KEPT_UP * rate, **summary})
        peak_rss = live.peak_rss_mb()
        refresh_interval = live.refresh_interval()
        index_batch_seconds = live.settings.index_batch_seconds
    capacity_summary = drain.summary()
    kept_up = [step["offered_per_second"] for step in steps if step["kept_up"]]
    return {
        "date": started.isoformat(timespec="seconds"),
        "machine": {**machine_before, "load_average_after": machine()["load_average"]},
        "refresh_interval": refresh_interval,
        "index_batch_seconds": index_batch_seconds,
        "capacity": capacity_summary,
        "max_pages_per_second": round(capacity, 2),
        "peak_output_per_second": capacity_summary["output_per_second"],
        "highest_rate_kept_up": max(kept_up, default=None),
        "pages_per_second_per_machine_core": round(capacity / psutil.cpu_count(), 2),
        "pages_per_cpu_second": capacity_summary["pages_per_cpu_second"],
        "at_half_load": next(step for step in steps if step["fraction"] == LATENCY_FRACTION),
        "steps": steps,
        "peak_rss_mb": peak_rss,
    }


def print_table(result: dict) -> None:
    capacity = result["capacity"]
    print(f"capacity: {result['max_pages_per_second']} pages/s out of a {capacity['pages']}-page backlog "
          f"(steady part {result['peak_output_per_second']}/s), "
          f"{result['pages_per_cpu_second']} pages per worker CPU second, {capacity['cores_used']} cores used "
          f"({result['pages_per_second_per_machine_core']} pages/s per machine core)")
    print(f"{'worker':<14}{'CPU ms/page':>12}{'peak RSS MB (largest / tree)':>31}")
    for worker, ms in capacity["cpu_ms_per_page"].items():
        rss = result["peak_rss_mb"][worker]
        print(f"{worker:<14}{ms:>12.1f}{rss['largest_process']:>20.0f} / {rss['tree_sum']:.0f}")
    for name, ms in capacity["stack_cpu_ms_per_page"].items():
        print(f"{name + ' (stack)':<14}{ms:>12.1f}")
    print(f"the whole machine was busy {capacity['machine_busy_cores']} of {result['machine']['cpus']} cores "
          f"meanwhile (the workers {capacity['cores_used']})")
    print()
    print(f"{'load':>6}{'kept up':>8}{'offered/s':>10}{'out/s':>8}{'cores':>7}{'busy':>6}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}"
          f"{'p99 to bulk':>12}{'pages':>7}{'dead':>6}")
    for step in result["steps"]:
        searchable, bulk = step["latency_searchable_seconds"], step["latency_to_bulk_seconds"]
        print(f"{step['fraction']:>6.0%}{'yes' if step['kept_up'] else 'no':>8}{step['offered_per_second']:>10.2f}{step['output_per_second']:>8.2f}"
              f"{step['cores_used']:>7.2f}{step['machine_busy_cores']:>6.2f}{searchable['p50']:>8.2f}{searchable['p95']:>8.2f}{searchable['p99']:>8.2f}"
              f"{bulk['p99']:>12.2f}{step['pages']:>7}{step['dead_letters']:>6}")
    print("cores: the workers' CPU seconds per second; busy: the whole machine's (other jobs included)")
    print(f"latency: raw-topic timestamp -> searchable (polled every 0.1 s); index refresh_interval "
          f"{result['refresh_interval']}, index_batch_seconds {result['index_batch_seconds']}; machine: {result['machine']['cpus']} CPUs, load average "
          f"{result['machine']['load_average']} before, {result['machine']['load_average_after']} after")
    if result.get("plot"):
        print(f"plot: {result['plot']}")


def measure(args) -> dict:
    result = run_benchmark(args.drain_pages, args.step_seconds, args.data_dir, args.index_batch_seconds,
                           args.refresh_interval)
    if args.plot:
        from workers.benchmarks.plot import plot_load

        plot_load(result, args.plot)
        result["plot"] = args.plot
    return result
