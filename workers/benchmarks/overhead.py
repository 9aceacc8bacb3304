"""What the workers cost beyond the stage functions: the same pages in a bare loop vs through the pipeline.

    newswire bench overhead [--pages 100] [--rounds 3] [--json]

Each round takes fresh pages and runs them both ways, one right after the other, alternating which goes first:
- bare loop: `index_document(fingerprint_doc(enrich_doc(classify_doc(clean_record(...)))))` on each raw record,
  in this process (every stage function the workers run);
- workers: the same records produced at once to the raw topic of the four running workers (workers/benchmarks/
  live.py), until every page is searchable or dead-lettered.
The fair measure on a machine where the stages run in parallel processes is CPU seconds per page: for the
workers, the sum over every worker process and its stage pool (Kafka clients, event loops, JSON between the
stages, the bulk client included; the broker and the engine are not workers and are not counted); for the bare
loop, this process's CPU time. Overhead = workers / bare - 1, the median over the rounds. The workers' idle
CPU (measured for 5 s with nothing to do) is reported beside it: a cost per second, not per page, that a
loaded pipeline spreads over more pages. Wall-clock pages/s are reported too: the workers run the stages in
parallel, the bare loop on one core.
"""

from __future__ import annotations

import statistics
import time

from workers import pipeline
from workers.benchmarks.live import LiveRun
from workers.benchmarks.pages import raw_record
from workers.benchmarks.pipeline import WARM_UP_PAGES, PageFeed, machine
from workers.config import Settings
from workers.envelope import EnvelopeError
from workers.stages.clean import CleanError
from workers.types import Page


def add_arguments(parser) -> None:
    parser.add_argument("--pages", type=int, default=100, help="pages per round (each round takes new ones)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (bare loop and workers each)")


def bare_loop(pages: list[Page], max_bytes: int) -> tuple[float, float]:
    """CPU and wall seconds to run every stage function on each page's raw record, here."""
    records = [raw_record(page) for page in pages]
    cpu, wall = time.process_time(), time.perf_counter()
    for key, value in records:
        try:
            pipeline.index_document(pipeline.fingerprint_doc(pipeline.enrich_doc(pipeline.classify_doc(
                pipeline.clean_record(key, value, None, max_bytes)))))
        except (CleanError, EnvelopeError):
            continue  # the workers dead-letter it after the same work
    return time.process_time() - cpu, time.perf_counter() - wall


def run_benchmark(page_count: int = 100, rounds: int = 3, data_dir: str | None = None) -> dict:
    feed = PageFeed(data_dir, f"o{int(time.time())}")
    max_bytes = Settings().max_page_bytes
    machine_before = machine()
    rows = []
    with LiveRun() as live:
        warm_up = feed.batch("warm-up", WARM_UP_PAGES)
        live.run_batch(warm_up)
        bare_loop(warm_up, max_bytes)  # loads the models in this process
        idle = live.idle_cores()
        for number in range(rounds):
            pages = feed.batch(f"round-{number}", page_count)
            row = {}
            for way in (("bare", "workers") if number % 2 == 0 else ("workers", "bare")):
                if way == "bare":
                    cpu, wall = bare_loop(pages, max_bytes)
                    row["bare_cpu_ms_per_page"] = 1000 * cpu / len(pages)
                    row["bare_pages_per_second"] = len(pages) / wall
                else:
                    batch = live.run_batch(pages)
                    row["workers_cpu_ms_per_page"] = 1000 * sum(batch.cpu_seconds.values()) / len(pages)
                    row["workers_pages_per_second"] = batch.output_per_second()
                    row["workers_cpu_ms_per_page_by_worker"] = batch.summary()["cpu_ms_per_page"]
                    row["workers_idle_cpu_ms_per_page"] = 1000 * sum(idle.values()) * batch.wall_seconds / len(pages)
            row["ratio"] = row["workers_cpu_ms_per_page"] / row["bare_cpu_ms_per_page"]
            row["ratio_net_of_idle"] = ((row["workers_cpu_ms_per_page"] - row["workers_idle_cpu_ms_per_page"])
                                        / row["bare_cpu_ms_per_page"])
            rows.append(row)
    ratio = statistics.median(row["ratio"] for row in rows)

    def median(name: str) -> float:
        return round(statistics.median(row[name] for row in rows), 2)

    return {
        "pages_per_round": page_count,
        "rounds": rounds,
        "machine": {**machine_before, "load_average_after": machine()["load_average"]},
        "cpu_ratio_workers_to_bare": round(ratio, 3),
        "overhead": round(ratio - 1, 3),
        "overhead_net_of_idle": round(statistics.median(row["ratio_net_of_idle"] for row in rows) - 1, 3),
        "workers_idle_cores": {worker: round(cores, 4) for worker, cores in idle.items()},
        "bare_cpu_ms_per_page": median("bare_cpu_ms_per_page"),
        "workers_cpu_ms_per_page": median("workers_cpu_ms_per_page"),
        "bare_pages_per_second": median("bare_pages_per_second"),
        "workers_pages_per_second": median("workers_pages_per_second"),
        "round_details": [{name: (round(value, 3) if isinstance(value, float) else value) for name, value in row.items()}
                          for row in rows],
    }


def print_table(result: dict) -> None:
    print(f"{'':<10}{'CPU ms/page':>12}{'pages/s (wall)':>16}")
    print(f"{'bare loop':<10}{result['bare_cpu_ms_per_page']:>12.1f}{result['bare_pages_per_second']:>16.2f}")
    print(f"{'workers':<10}{result['workers_cpu_ms_per_page']:>12.1f}{result['workers_pages_per_second']:>16.2f}")
    last = result["round_details"][-1]["workers_cpu_ms_per_page_by_worker"]
    print("workers' CPU ms/page in the last round: " + ", ".join(f"{w} {ms:.1f}" for w, ms in last.items()))
    print(f"overhead: {result['overhead']:+.1%} CPU per page (median of {result['rounds']} rounds of "
          f"{result['pages_per_round']} pages; load average {result['machine']['load_average']})")
    idle = sum(result["workers_idle_cores"].values())
    print(f"of which idling: the workers use {idle:.3f} cores with nothing to do; without it the overhead is "
          f"{result['overhead_net_of_idle']:+.1%}")


def measure(args) -> dict:
    return run_benchmark(args.pages, args.rounds, args.data_dir)
