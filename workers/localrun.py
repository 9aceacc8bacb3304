"""Runs the real pipeline workers as subprocesses against a running stack, isolated by a topic prefix and an
index alias of their own: used by the integration tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from workers import topics
from workers.config import STAGE_METRICS_PORTS, load_settings
from workers.datasets import REPO_ROOT
from workers.runtime.kafka import client_config, producer_config
from workers.runtime.search import make_client
from workers.topics import apply_topics, load_topic_specs

STAGES = ["clean", "classify", "enrich", "index"]

# The local cluster mode (`deploy/local/stack.sh start --cluster`): where it listens, and what production asks of
# topics and indices there. Its workers serve metrics 10000 ports up, so a cluster run never waits on (or holds)
# the single stack's fixed ports.
CLUSTER_ENV = {
    "NEWSWIRE_KAFKA_BOOTSTRAP": "127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292",
    "NEWSWIRE_ES_URL": "http://127.0.0.1:19200,http://127.0.0.1:19201",
    "NEWSWIRE_TOPIC_REPLICATION_FACTOR": "3",
    "NEWSWIRE_INDEX_REPLICAS": "1",
}
CLUSTER_METRICS_PORTS = {stage: port + 10000 for stage, port in STAGE_METRICS_PORTS.items()}
# Replica n (from 2) of a stage serves metrics REPLICA_PORT_STEP * (n - 1) above the stage's port.
REPLICA_PORT_STEP = 10


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Pipeline:
    """Topics under a fresh prefix, an index under a fresh alias, and the four workers (more replicas of a stage
    with `add_replica`). `processes` is keyed by worker name: the stage's name for its first replica, then
    `<stage>-2`, `<stage>-3`..."""

    def __init__(self, log_dir: Path, extra_env: dict[str, str] | None = None,
                 metrics_ports: dict[str, int] | None = None):
        run_id = uuid.uuid4().hex[:8]
        self.env = {
            **os.environ,
            "NEWSWIRE_TOPIC_PREFIX": f"test-{run_id}-",
            "NEWSWIRE_INDEX_ALIAS": f"test-{run_id}-pages",
            "NEWSWIRE_INDEX_BATCH_SECONDS": "0.2",
            **(extra_env or {}),
        }
        self.settings = load_settings(self.env)
        self.log_dir = log_dir
        self.metrics_ports = dict(metrics_ports or STAGE_METRICS_PORTS)
        self.processes: dict[str, subprocess.Popen] = {}
        self.es = make_client(self.settings)

    def check_stack(self) -> None:
        admin = AdminClient(client_config(self.settings))
        admin.list_topics(timeout=10)  # raises when Kafka is not up: start it with deploy/local/stack.sh start
        self.es.cluster.health(wait_for_status="yellow", timeout="10s")

    def start(self) -> None:
        self.check_stack()
        # The worker ports are fixed (Prometheus scrapes them): wait for another test run's workers to go.
        deadline = time.monotonic() + 180
        while any(port_open(port) for port in self.metrics_ports.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker metrics ports {sorted(self.metrics_ports.values())} stay busy: "
                                   "another pipeline is running")
            time.sleep(1)
        admin = AdminClient(client_config(self.settings))
        apply_topics(admin, load_topic_specs(), self.settings.topic_prefix, self.settings.topic_replication_factor)
        for stage in STAGES:
            self.start_worker(stage)
        deadline = time.monotonic() + 120
        for stage in STAGES:
            while not port_open(self.metrics_ports[stage]):
                if self.processes[stage].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {stage} did not start; see {self.log_dir}/worker-{stage}.log")
                time.sleep(0.2)
        # A worker serves its metrics port before its models load (the classify stage's encoder takes seconds):
        # the pipeline is up once every stage's consumer group is stable, so a test that stops the broker next
        # stops it under running consumers, not under a worker still starting.
        for stage in STAGES:
            self.wait_group_stable(stage, members=1, deadline=deadline)

    def wait_group_stable(self, stage: str, members: int, deadline: float) -> None:
        """Wait until the stage's consumer group is stable with `members` members."""
        admin = AdminClient(client_config(self.settings))
        while self._group_members(admin, self.settings.group(stage)) != members:
            # RuntimeError, as for a worker that does not start: LiveRun retries on it (a metrics port race).
            exited = [name for name in self.replicas(stage) if self.processes[name].poll() is not None]
            if exited or time.monotonic() > deadline:
                raise RuntimeError(f"{stage}: consumer group not stable with {members} members (exited: {exited}); "
                                   f"see {self.log_dir}/worker-{stage}*.log")
            time.sleep(0.5)

    @staticmethod
    def _group_members(admin: AdminClient, group: str) -> int | None:
        """How many members the group has when it is stable; None while it rebalances or is not there."""
        from confluent_kafka import ConsumerGroupState

        try:
            description = admin.describe_consumer_groups([group], request_timeout=5)[group].result()
        except Exception:  # noqa: BLE001 - not there yet
            return None
        return len(description.members) if description.state == ConsumerGroupState.STABLE else None

    def start_worker(self, stage: str, module: str = "workers", name: str | None = None, metrics_port: int = 0) -> None:
        """`module`: what `python -m` runs with the arguments `run STAGE` (a test's own launcher, or the CLI);
        `name` (default: the stage) keys the worker in `processes` and names its log."""
        name = name or stage
        log = open(self.log_dir / f"worker-{name}.log", "ab")
        env = {**self.env, "NEWSWIRE_METRICS_PORT": str(metrics_port or self.metrics_ports[stage])}
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", module, "run", stage], env=env, cwd=REPO_ROOT,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def replicas(self, stage: str) -> list[str]:
        return [name for name in self.processes if name == stage or name.startswith(f"{stage}-")]

    def add_replica(self, stage: str) -> str:
        """Start one more worker of the stage (what an autoscaler does); returns its name."""
        number = len(self.replicas(stage)) + 1
        name = f"{stage}-{number}"
        self.start_worker(stage, name=name, metrics_port=self.metrics_ports[stage] + REPLICA_PORT_STEP * (number - 1))
        return name

    def remove_replica(self, stage: str) -> str:
        """SIGTERM the stage's newest replica, as an autoscaler scaling in does, and wait for it to exit."""
        name = self.replicas(stage)[-1]
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        return name

    def assert_workers_alive(self) -> None:
        for stage, process in self.processes.items():
            if process.poll() is not None:
                log = (self.log_dir / f"worker-{stage}.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"worker {stage} exited with {process.returncode}:\n{log}")

    def kill_and_restart(self, stage: str) -> None:
        """kill -9 the worker (and its pool process), then start a new one."""
        process = self.processes[stage]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.start_worker(stage)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def cleanup(self) -> None:
        self.es.indices.delete(index=f"{self.settings.index_alias}-*", ignore_unavailable=True)
        self.es.options(ignore_status=404).indices.delete_index_template(name=f"{self.settings.index_alias}-template")
        admin = AdminClient(client_config(self.settings))
        names = [self.settings.topic(spec.name) for spec in load_topic_specs()]
        # faust's own partition-assignment topic, one per stream stage's group.
        existing = admin.list_topics(timeout=10).topics
        names += [f"{self.settings.group(stage)}-__assignor-__leader" for stage in STAGES
                  if f"{self.settings.group(stage)}-__assignor-__leader" in existing]
        for future in admin.delete_topics(names).values():
            future.result()

    def count_documents(self) -> int:
        self.es.indices.refresh(index=self.settings.index_alias)
        return self.es.count(index=self.settings.index_alias)["count"]

    def indexed_ids(self) -> set[str]:
        self.es.indices.refresh(index=self.settings.index_alias)
        response = self.es.search(index=self.settings.index_alias, size=10_000, source=False, query={"match_all": {}})
        return {hit["_id"] for hit in response["hits"]["hits"]}

    def wait_for_count(self, expected: int, timeout: float = 300) -> int:
        """Wait until the index holds `expected` documents and stays there; returns the final count."""
        deadline = time.monotonic() + timeout
        count = -1
        while time.monotonic() < deadline:
            self.assert_workers_alive()
            if self.es.indices.exists_alias(name=self.settings.index_alias):
                count = self.count_documents()
                if count >= expected:
                    time.sleep(3)  # anything extra would arrive now
                    return self.count_documents()
            time.sleep(1)
        raise AssertionError(f"{count} of {expected} documents indexed within {timeout}s; logs in {self.log_dir}")

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    def produce(self, topic: str, key: bytes | None, value: bytes, headers=None) -> None:
        self.produce_many(topic, [(key, value, headers)])

    def produce_many(self, topic: str, records, per_second: float | None = None) -> None:
        """Send (key, value, headers) records, optionally at a steady rate; fails unless every one is acknowledged."""
        producer = Producer(producer_config(self.settings, **{"message.max.bytes": 33_554_432}))
        errors = []
        started = time.monotonic()
        for number, (key, value, headers) in enumerate(records):
            producer.produce(self.topic(topic), key=key, value=value, headers=headers,
                             on_delivery=lambda error, _: error and errors.append(error))
            producer.poll(0)
            if per_second:
                time.sleep(max(0.0, started + number / per_second - time.monotonic()))
        assert producer.flush(60) == 0 and not errors, errors[:3]

    def produce_pages(self, pages: list[tuple[str, str]], per_second: float | None = None) -> None:
        """(url, text) pages onto the raw topic, as text/plain envelopes keyed by their URL."""
        self.produce_many(topics.RAW, [(url.encode(), envelope(text, url, "text/plain"), None) for url, text in pages],
                          per_second)

    def stream_pages(self, pages: list[tuple[str, str]], per_second: float) -> threading.Thread:
        """produce_pages in a background thread, already started: the caller acts while the stream runs."""
        thread = threading.Thread(target=self.produce_pages, args=(pages, per_second), daemon=True)
        thread.start()
        return thread

    def dead_letter_count(self) -> int:
        """Records on the run's dead-letter topic (its one partition's high watermark)."""
        consumer = Consumer(client_config(self.settings, **{"group.id": f"{self.settings.topic_prefix}watermarks"}))
        try:
            return consumer.get_watermark_offsets(TopicPartition(self.topic(topics.DEAD_LETTER), 0), timeout=10)[1]
        finally:
            consumer.close()

    def wait_for_documents(self, ids: list[str], timeout: float = 180) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        found: dict[str, dict] = {}
        while time.monotonic() < deadline:
            self.assert_workers_alive()
            self.es.indices.refresh(index=self.settings.index_alias, ignore_unavailable=True)
            if self.es.indices.exists_alias(name=self.settings.index_alias):
                response = self.es.mget(index=self.settings.index_alias, ids=ids)
                found = {doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")}
                if len(found) == len(ids):
                    return found
            time.sleep(1)
        missing = sorted(set(ids) - set(found))
        raise AssertionError(f"documents not indexed within {timeout}s: {missing}; logs in {self.log_dir}")

    def read_topic(self, topic: str, count: int, timeout: float = 60) -> list:
        consumer = Consumer(client_config(self.settings, **{
            "group.id": f"reader-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest", "enable.auto.commit": False}))
        consumer.subscribe([self.topic(topic)])
        messages, deadline = [], time.monotonic() + timeout
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                messages.append(message)
        consumer.close()
        return messages


@contextmanager
def running_pipeline(log_dir: Path, extra_env: dict[str, str] | None = None,
                     metrics_ports: dict[str, int] | None = None) -> Iterator[Pipeline]:
    """A started Pipeline; stopped, and its topics and indices deleted, on exit."""
    pipeline = Pipeline(log_dir, extra_env, metrics_ports)
    try:
        pipeline.start()
        yield pipeline
    finally:
        pipeline.stop()
        pipeline.cleanup()


def envelope(raw: str, url: str, content_type: str) -> bytes:
    return orjson.dumps({"v": 1, "url": url, "source": "test", "content_type": content_type, "raw": raw})
