"""The four real workers against the running local stack, fed batches of pages, each batch timed to searchable.

A batch's pages carry a `source` of their own. While they are produced (at a steady rate, or all at once), a
poller asks the engine every POLL_SECONDS for the batch's documents it has not seen yet; the moment a document
first shows up is when it became searchable (at most the poll interval plus one search request late). Its
latency is that moment minus the raw record's Kafka timestamp (CreateTime, set by this process's producer, so
both ends read the same clock). `indexed_at`, which the index worker stamps just before its bulk request, gives
the latency up to the engine; the difference is the bulk request plus waiting for the next refresh. Pages the
clean stage rejects arrive on the dead-letter topic instead; a batch is done when every page is in one or the
other. Worker CPU time and peak RSS come from psutil over each worker's process tree (workers/benchmarks/measure.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil
from confluent_kafka import Consumer, Producer, TopicPartition
from elasticsearch import ApiError

from workers import topics
from workers.benchmarks import measure
from workers.benchmarks.pages import raw_record
from workers.config import Settings
from workers.datasets import REPO_ROOT
from workers.localrun import CLUSTER_ENV, CLUSTER_METRICS_PORTS, Pipeline
from workers.runtime.kafka import client_config, producer_config
from workers.types import Page

POLL_SECONDS = 0.1
START_ATTEMPTS = 5


@dataclass
class BatchResult:
    pages: int
    offered_per_second: float | None  # None: all produced at once (a backlog to drain)
    produce_started: float  # wall clock (time.time())
    produce_seconds: float
    raw_timestamp: dict[str, float] = field(default_factory=dict)  # page id -> seconds since the epoch
    searchable_at: dict[str, float] = field(default_factory=dict)
    indexed_at: dict[str, float] = field(default_factory=dict)
    dead_letters: int = 0
    finished: float = 0.0  # when every page was seen searchable or dead-lettered (checked every POLL_SECONDS)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per worker, over the batch
    stack_cpu_seconds: dict[str, float] = field(default_factory=dict)  # the broker and the engine, for context
    machine_busy_cores: float = 0.0  # everything on the machine, other people's jobs included

    @property
    def done(self) -> int:
        return len(self.searchable_at) + self.dead_letters

    @property
    def wall_seconds(self) -> float:
        return self.finished - self.produce_started

    def output_per_second(self) -> float:
        """Searchable pages per second in the steady part of the batch (all pages over the wall time if short)."""
        return measure.output_rate(list(self.searchable_at.values())) or self.done / self.wall_seconds

    def searchable_latencies(self) -> list[float]:
        return [self.searchable_at[i] - self.raw_timestamp[i] for i in self.searchable_at if i in self.raw_timestamp]

    def indexed_latencies(self) -> list[float]:
        return [self.indexed_at[i] - self.raw_timestamp[i] for i in self.indexed_at if i in self.raw_timestamp]

    def summary(self) -> dict:
        cpu_total = sum(self.cpu_seconds.values())
        return {
            "pages": self.pages,
            "offered_per_second": None if self.offered_per_second is None else round(self.offered_per_second, 2),
            "indexed": len(self.searchable_at),
            "dead_letters": self.dead_letters,
            "wall_seconds": round(self.wall_seconds, 2),
            "output_per_second": round(self.output_per_second(), 2),
            "pages_per_cpu_second": round(self.done / cpu_total, 2) if cpu_total else None,
            "cores_used": round(cpu_total / self.wall_seconds, 2) if self.wall_seconds else None,
            "cpu_ms_per_page": {worker: round(1000 * seconds / max(self.done, 1), 2)
                                for worker, seconds in self.cpu_seconds.items()},
            "stack_cpu_ms_per_page": {name: round(1000 * seconds / max(self.done, 1), 2)
                                      for name, seconds in self.stack_cpu_seconds.items()},
            "machine_busy_cores": round(self.machine_busy_cores, 2),
            "latency_searchable_seconds": measure.latency_summary(self.searchable_latencies()),
            "latency_to_bulk_seconds": measure.latency_summary(self.indexed_latencies()),
        }


class LiveRun:
    """Start with `with LiveRun() as live:`; topics and index are deleted afterwards, worker logs are kept."""

    def __init__(self, log_dir: Path | None = None, index_batch_seconds: float | None = None,
                 refresh_interval: str | None = None, cluster: bool = False):
        log_dir = log_dir or REPO_ROOT / "var" / "log" / f"bench-{int(time.time())}"
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "state").mkdir(exist_ok=True)
        # The shipped defaults unless asked otherwise (the test harness shortens the indexer's batch wait);
        # faust's state folders go beside the logs.
        batch_seconds = Settings().index_batch_seconds if index_batch_seconds is None else index_batch_seconds
        # cluster: the local cluster mode's brokers, engine nodes and replication, metrics on ports of their own.
        self.pipeline = Pipeline(log_dir, {"NEWSWIRE_INDEX_BATCH_SECONDS": str(batch_seconds),
                                           "NEWSWIRE_STATE_DIR": str(log_dir / "state"), **(CLUSTER_ENV if cluster else {})},
                                 metrics_ports=CLUSTER_METRICS_PORTS if cluster else None)
        self.requested_refresh_interval = refresh_interval
        self.settings = self.pipeline.settings
        self.es = self.pipeline.es
        self.alias = self.settings.index_alias
        self.stack_pids = measure.listening_pids({
            "kafka": int(self.settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1]),
            "elasticsearch": urlsplit(self.settings.es_url.split(",")[0]).port or 9200})

    def __enter__(self) -> "LiveRun":
        try:
            self._start_workers()
            if self.requested_refresh_interval:
                self._set_refresh_interval(self.requested_refresh_interval)
        except BaseException:
            self._stop_and_clean_up()
            raise
        self._producer = Producer(producer_config(self.settings, **{"message.max.bytes": 33_554_432}))
        self._watermarks = Consumer(client_config(self.settings, **{"group.id": f"{self.settings.topic_prefix}bench"}))
        return self

    def _start_workers(self) -> None:
        """Pipeline.start waits for the fixed metrics ports to be free, but another test run waiting for them
        too may take them first: then stop what started and wait for the next free moment."""
        for attempt in range(START_ATTEMPTS):
            try:
                self.pipeline.start()
                return
            except RuntimeError:
                self.pipeline.stop()
                self.pipeline.processes.clear()
                if attempt == START_ATTEMPTS - 1:
                    raise
                time.sleep(10)

    def _set_refresh_interval(self, interval: str) -> None:
        """Override the template's refresh interval on the run's index, once the index worker has created it."""
        deadline = time.monotonic() + 60
        while not self.es.indices.exists_alias(name=self.alias):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the index worker did not create {self.alias}")
            time.sleep(0.2)
        self.es.indices.put_settings(index=self.alias, settings={"index": {"refresh_interval": interval}})

    def __exit__(self, *_):
        self._watermarks.close()
        self._stop_and_clean_up()

    def _stop_and_clean_up(self) -> None:
        self.pipeline.stop()
        self.pipeline.cleanup()

    @property
    def worker_pids(self) -> dict[str, int]:
        return {stage: process.pid for stage, process in self.pipeline.processes.items()}

    def refresh_interval(self) -> str:
        settings = self.es.indices.get_settings(index=self.alias, include_defaults=True)
        index = next(iter(settings.values()))
        return index["settings"]["index"].get("refresh_interval") or index["defaults"]["index"]["refresh_interval"]

    def dead_letter_count(self) -> int:
        _, high = self._watermarks.get_watermark_offsets(
            TopicPartition(self.settings.topic(topics.DEAD_LETTER), 0), timeout=10)
        return high

    def run_batch(self, pages: list[Page], per_second: float | None = None, timeout: float = 600) -> BatchResult:
        """Produce `pages` (all with one fresh `source`) and wait until each is searchable or dead-lettered."""
        tag = pages[0].source
        if any(page.source != tag for page in pages):
            raise ValueError("a batch's pages must share one source")
        dead_letters_before = self.dead_letter_count()
        cpu_before = measure.snapshot_workers(self.worker_pids)
        stack_before, machine_before = measure.snapshot_workers(self.stack_pids), psutil.cpu_times()
        result = BatchResult(len(pages), per_second, time.time(), 0.0)
        stop, poll_errors = threading.Event(), []
        poller = threading.Thread(target=self._poll, args=(tag, result, stop, poll_errors), daemon=True)
        poller.start()
        self._produce(pages, per_second, result)
        deadline = time.monotonic() + timeout
        try:
            while True:
                result.dead_letters = self.dead_letter_count() - dead_letters_before
                if result.done >= len(pages):
                    result.finished = time.time()
                    break
                self.pipeline.assert_workers_alive()
                if poll_errors:
                    raise poll_errors[0]
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{result.done} of {len(pages)} pages done within {timeout}s")
                time.sleep(POLL_SECONDS)
        finally:
            stop.set()
            poller.join()
        result.cpu_seconds = measure.cpu_spent(cpu_before, measure.snapshot_workers(self.worker_pids))
        result.stack_cpu_seconds = measure.cpu_spent(stack_before, measure.snapshot_workers(self.stack_pids))
        result.machine_busy_cores = measure.busy_cores(machine_before, psutil.cpu_times())
        return result

    def idle_cores(self, seconds: float = 5.0) -> dict[str, float]:
        """CPU the workers spend with nothing to do (polls, heartbeats, lag and metrics threads), in cores."""
        before = measure.snapshot_workers(self.worker_pids)
        time.sleep(seconds)
        return {worker: spent / seconds
                for worker, spent in measure.cpu_spent(before, measure.snapshot_workers(self.worker_pids)).items()}

    def peak_rss_mb(self) -> dict[str, dict]:
        return measure.peak_rss_mb(measure.snapshot_workers(self.worker_pids))

    def _produce(self, pages: list[Page], per_second: float | None, result: BatchResult) -> None:
        errors = []

        def delivered(error, message) -> None:
            if error:
                errors.append(error)
            else:
                result.raw_timestamp[message.key().decode()] = message.timestamp()[1] / 1000

        topic = self.settings.topic(topics.RAW)
        started = time.monotonic()
        for number, page in enumerate(pages):
            if per_second:
                time.sleep(max(0.0, started + number / per_second - time.monotonic()))
            key, value = raw_record(page)
            while True:
                try:
                    self._producer.produce(topic, key=key, value=value, on_delivery=delivered)
                    break
                except BufferError:  # local queue full: wait for deliveries instead of dropping the page
                    self._producer.poll(0.1)
            self._producer.poll(0)
        if self._producer.flush(60) > 0 or errors:
            raise RuntimeError(f"raw pages not acknowledged: {errors[:3]}")
        result.produce_seconds = time.monotonic() - started

    def _poll(self, tag: str, result: BatchResult, stop: threading.Event, poll_errors: list) -> None:
        """Record when each of the batch's documents first answers a search (runs in a thread)."""
        while not stop.is_set():
            try:
                response = self.es.search(
                    index=self.alias, size=10_000, source=["indexed_at"],
                    query={"bool": {"filter": [{"term": {"source": tag}}],
                                    "must_not": [{"ids": {"values": list(result.searchable_at)}}]}})
            except ApiError as error:
                if error.meta.status not in (404, 503):  # the index (or its shard) is still being created
                    poll_errors.append(error)
                    return
                response = {"hits": {"hits": []}}
            answered = time.time()
            for hit in response["hits"]["hits"]:
                result.searchable_at[hit["_id"]] = answered  # an upper bound: visible by then, not at the last poll
                result.indexed_at[hit["_id"]] = datetime.fromisoformat(hit["_source"]["indexed_at"]).timestamp()
            stop.wait(POLL_SECONDS)
