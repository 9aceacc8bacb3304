"""The local cluster mode (`deploy/local/stack.sh start --cluster`) as the cluster tests see it: its processes,
who leads which partition, how healthy the engine is, and a watch on the index that records when it grows."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

from confluent_kafka.admin import AdminClient

from workers.datasets import REPO_ROOT
from workers.localrun import CLUSTER_ENV

STACK = str(REPO_ROOT / "deploy" / "local" / "stack.sh")
VAR = Path(os.environ.get("NEWSWIRE_VAR", REPO_ROOT / "var"))
BOOTSTRAP = CLUSTER_ENV["NEWSWIRE_KAFKA_BOOTSTRAP"]


def stack(action: str, node: str = "all") -> None:
    subprocess.run([STACK, action, "--cluster", node], check=True, timeout=600)


def running() -> bool:
    status = subprocess.run([STACK, "status", "--cluster"], capture_output=True, text=True, timeout=60).stdout
    return "stopped" not in status and "under-replicated" in status and "number_of_nodes:2" in status


def broker_pid(broker: int) -> int:
    return int((VAR / "run" / f"cluster-kafka-{broker}.pid").read_text().strip())


def _partitions():
    metadata = AdminClient({"bootstrap.servers": BOOTSTRAP}).list_topics(timeout=10)
    return [partition for topic in metadata.topics.values() for partition in topic.partitions.values()]


def broker_leading_most() -> tuple[int, int]:
    """(broker id, partitions it leads) over every partition of the cluster, the offsets topic included."""
    leaders = Counter(partition.leader for partition in _partitions())
    return leaders.most_common(1)[0]


def partitions_led_by(broker: int) -> int:
    return sum(partition.leader == broker for partition in _partitions())


def under_replicated() -> int:
    return sum(len(partition.isrs) < len(partition.replicas) for partition in _partitions())


def wait_until(condition, timeout: float, what: str) -> float:
    """Seconds until `condition()` held (polled every 0.2 s)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def elected_master(es) -> str:
    return es.cat.master(format="json")[0]["node"]


def engine_node_names(es) -> list[str]:
    return sorted(node["name"] for node in es.cat.nodes(format="json", h="name"))


def primaries_on(es, index_pattern: str) -> Counter:
    """Node name -> primary shards of the matching indices it holds."""
    return Counter(shard["node"] for shard in es.cat.shards(index=index_pattern, format="json", h="prirep,node")
                   if shard["prirep"] == "p")


def move_primaries_to(es, index_pattern: str, node: str) -> None:
    """Make `node` hold every primary of the matching indices: a primary elsewhere is cancelled, so its replica on
    `node` takes over (the same promotion a node failure causes) and a new replica is built; waits for green."""
    es.cluster.health(index=index_pattern, wait_for_status="green", timeout="120s")
    commands = [{"cancel": {"index": shard["index"], "shard": int(shard["shard"]), "node": shard["node"], "allow_primary": True}}
                for shard in es.cat.shards(index=index_pattern, format="json", h="index,shard,prirep,node")
                if shard["prirep"] == "p" and shard["node"] != node]
    if commands:
        es.cluster.reroute(commands=commands, metric="none")
    wait_until(lambda: primaries_on(es, index_pattern)[node] == len(es.cat.shards(index=index_pattern, format="json")) // 2,
               120, f"primaries of {index_pattern} on {node}")
    es.cluster.health(index=index_pattern, wait_for_status="green", timeout="120s")


class IndexWatch:
    """Counts the run's documents every half second in the background, so a test can say afterwards how long
    indexing stood still after a fault."""

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> IndexWatch:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), self.pipeline.es.count(index=self.pipeline.settings.index_alias)["count"]))
            except Exception:  # noqa: BLE001 - a node going down fails a count; the next sample tells
                pass
            time.sleep(0.5)

    def longest_stall_after(self, moment: float, until_count: int) -> float:
        """The longest time without the count rising, from `moment` until the count first reached `until_count`."""
        longest, last_rise = 0.0, moment
        previous = None
        for at, count in self.samples:
            if at < moment:
                previous = count
                continue
            if previous is not None and count > previous:
                longest = max(longest, at - last_rise)
                last_rise = at
            previous = count
            if count >= until_count:
                break
        return longest
