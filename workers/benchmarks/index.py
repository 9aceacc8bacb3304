"""The index stage against `elasticsearch.helpers.streaming_bulk`: same documents, same engine.

    newswire bench index [--docs 500] [--rounds 10] [--json]

The documents are real: the dev pages run once through clean, classify and enrich in this process, their
enriched JSON (what the index worker reads from Kafka) cycled with a fresh `page_id` per copy. Both sides start
from those bytes and build each `_source` with `pipeline.index_document`:
- index stage: the real `Indexer.index_batch` (workers/runtime/indexer.py) on message objects shaped like
  confluent-kafka's, in batches of `index_batch_size` as its consume loop takes them (Kafka itself is not timed);
- streaming_bulk: the helper with chunk_size = `index_batch_size`, on the same client (the orjson serializer that
  `make_client` sets). Documents carry no dedup signature here: the dedup store is timed in `bench pipeline`.
Each writes to an index of its own (same template, refresh 1 s) and every round writes new documents; rounds
alternate which goes first. The figure is wall-clock documents/s (the engine's time included: that is what
an indexer waits for), median over the rounds; the client's CPU time per document is reported beside it.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
import uuid
from urllib.parse import urlsplit

import orjson
from elasticsearch.helpers import streaming_bulk

from workers import pipeline
from workers.benchmarks import measure as process_measure
from workers.benchmarks.pages import cycle, load_source_pages, raw_record
from workers.benchmarks.pipeline import machine
from workers.config import load_settings
from workers.runtime.indexer import Indexer
from workers.runtime.search import ensure_index, make_client
from workers.stages.clean import CleanError

DEFAULT_ROUNDS = 10


class KafkaLikeMessage:
    """The parts of a confluent_kafka.Message that the indexer reads."""

    __slots__ = ("_value", "_offset")

    def __init__(self, value: bytes, offset: int):
        self._value, self._offset = value, offset

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes | None:
        return None

    def headers(self):
        return None

    def topic(self) -> str:
        return "bench"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


def add_arguments(parser) -> None:
    parser.add_argument("--docs", type=int, default=500, help="documents per round and side")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds (each side writes new documents each round)")


def _engine_cpu(pid: int | None) -> float:
    return process_measure.snapshot(pid).cpu_seconds if pid else 0.0


def enriched_documents(data_dir: str | None, limit: int, max_bytes: int) -> list[dict]:
    """Each dev page once through the stream stages (pages the cleaner rejects are left out)."""
    sources = load_source_pages(data_dir)
    docs = []
    for page in cycle(sources, min(limit, len(sources)), "index"):
        key, value = raw_record(page)
        try:
            docs.append(pipeline.enrich_doc(pipeline.classify_doc(pipeline.clean_record(key, value, None, max_bytes))))
        except CleanError:
            continue
    return docs


def copies(docs: list[dict], count: int, tag: str) -> list[bytes]:
    return [orjson.dumps({**docs[n % len(docs)], "page_id": f"{tag}-{n}"}) for n in range(count)]


def run_benchmark(doc_count: int = 500, rounds: int = DEFAULT_ROUNDS, data_dir: str | None = None) -> dict:
    run_id = uuid.uuid4().hex[:8]
    settings = dataclasses.replace(load_settings(), topic_prefix=f"bench-{run_id}-", index_alias=f"bench-{run_id}-stage")
    bulk_alias = f"bench-{run_id}-bulk"
    es = make_client(settings)
    docs = enriched_documents(data_dir, doc_count, settings.max_page_bytes)
    indexer = Indexer(settings)
    ensure_index(es, settings.index_alias)
    ensure_index(es, bulk_alias)
    batch_size = settings.index_batch_size

    def index_stage(values: list[bytes]) -> None:
        messages = [KafkaLikeMessage(value, offset) for offset, value in enumerate(values)]
        for start in range(0, len(messages), batch_size):
            indexer.index_batch(messages[start:start + batch_size])

    def helper(values: list[bytes]) -> None:
        actions = ({"_index": bulk_alias, "_id": doc["page_id"], "_source": pipeline.index_document(doc)}
                   for doc in map(orjson.loads, values))
        for ok, item in streaming_bulk(es, actions, chunk_size=batch_size):
            if not ok:
                raise RuntimeError(f"streaming_bulk rejected a document: {item}")

    sides = {"index_stage": index_stage, "streaming_bulk": helper}
    timings: dict[str, list[tuple[float, float, float]]] = {name: [] for name in sides}  # wall, client CPU, engine CPU
    engine_pid = process_measure.listening_pids({"engine": urlsplit(settings.es_url.split(",")[0]).port or 9200}).get("engine")
    machine_before = machine()
    try:
        for name, side in sides.items():  # untimed warm-up: connections, index creation, first mappings
            side(copies(docs, min(50, doc_count), f"warm-{name}"))
        for number in range(rounds):
            for name in (list(sides) if number % 2 == 0 else list(reversed(sides))):
                values = copies(docs, doc_count, f"{name}-{number}")
                engine = _engine_cpu(engine_pid)
                cpu, wall = time.process_time(), time.perf_counter()
                sides[name](values)
                timings[name].append((time.perf_counter() - wall, time.process_time() - cpu, _engine_cpu(engine_pid) - engine))
        es.indices.refresh(index=f"{settings.index_alias},{bulk_alias}")
        counts = {"index_stage": es.count(index=settings.index_alias)["count"],
                  "streaming_bulk": es.count(index=bulk_alias)["count"]}
    finally:
        indexer.producer.flush(10)
        indexer.consumer.close()
        for alias in (settings.index_alias, bulk_alias):
            es.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
            es.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-template")
    per_second = {name: round(doc_count / statistics.median(row[0] for row in rows), 1) for name, rows in timings.items()}
    # Each round's two sides ran one right after the other: their ratio is less exposed to the machine's drift.
    paired = [bulk[0] / stage[0] for stage, bulk in zip(timings["index_stage"], timings["streaming_bulk"])]

    def cpu_ms_per_doc(column: int) -> dict[str, float]:
        return {name: round(1000 * statistics.median(row[column] for row in rows) / doc_count, 3)
                for name, rows in timings.items()}

    return {
        "docs_per_round": doc_count,
        "distinct_documents": len(docs),
        "rounds": rounds,
        "batch_size": batch_size,
        "machine": {**machine_before, "load_average_after": machine()["load_average"]},
        "docs_per_second": per_second,
        "ratio": round(statistics.median(paired), 3),
        "ratio_of_medians": round(per_second["index_stage"] / per_second["streaming_bulk"], 3),
        "round_ratios": [round(ratio, 3) for ratio in paired],
        "client_cpu_ms_per_doc": cpu_ms_per_doc(1),
        "engine_cpu_ms_per_doc": cpu_ms_per_doc(2) if engine_pid else None,
        "indexed": counts,
        "expected_per_side": (rounds * doc_count) + min(50, doc_count),
        "round_wall_seconds": {name: [round(row[0], 3) for row in rows] for name, rows in timings.items()},
    }


def print_table(result: dict) -> None:
    engine = result["engine_cpu_ms_per_doc"] or {}
    print(f"{'':<16}{'docs/s':>9}{'client CPU ms/doc':>19}{'engine CPU ms/doc':>19}{'indexed':>9}")
    for name, speed in result["docs_per_second"].items():
        print(f"{name:<16}{speed:>9.1f}{result['client_cpu_ms_per_doc'][name]:>19.3f}"
              f"{engine.get(name, float('nan')):>19.3f}{result['indexed'][name]:>9}")
    print(f"ratio index stage / streaming_bulk: {result['ratio']}x docs/s (median of {result['rounds']} paired rounds "
          f"of {result['docs_per_round']} documents, batches of {result['batch_size']}; ratio of the medians "
          f"{result['ratio_of_medians']}x; load average {result['machine']['load_average']})")


def measure(args) -> dict:
    return run_benchmark(args.docs, args.rounds, args.data_dir)
