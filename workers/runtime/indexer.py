"""The index stage: consumes enriched pages, writes them to the search engine in bulk, commits after success.

Guarantees:
- Offsets are committed only after every document of a batch is indexed or dead-lettered (and the dead letters
  are acknowledged), so a crash re-delivers at most the current batch; `_id = page_id`, so re-delivery rewrites
  the same document and never duplicates it.
- While the engine is unavailable (connection errors, timeouts, 429, 5xx) the consumer pauses its partitions
  and keeps polling (so it stays in the group), retrying with capped exponential backoff and jitter; it
  resumes when a bulk request succeeds. Nothing is dead-lettered because of an outage.
- Item-level rejections (mapping or parsing errors, 4xx) go to the dead-letter topic; item-level 429/5xx are
  retried up to MAX_ITEM_ATTEMPTS times, then dead-lettered as `retries_exhausted`.
- Near-duplicates: each page gets `cluster_id` (its story's first copy) and `is_duplicate` from the dedup store
  (workers/runtime/dedup_store.py); a first copy keeps the ids and count of its copies. Documents are written
  whole with `index` (an `update` + upsert costs the engine a read and a merge per document); a first copy that
  was already indexed (a re-delivery, a reprocessing) gets its copy list rebuilt from its copies right after.
"""

from __future__ import annotations

import functools
import logging
import random
import signal
import time

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

from workers import pipeline, topics
from workers.runtime.dedup_store import DedupStore
from workers.runtime.deadletter import dead_letter_headers, previous_attempts
from workers.runtime.health import Health, kafka_check, serve
from workers.runtime.kafka import client_config, producer_config
from workers.runtime.lag import LagMonitor
from workers.runtime.metrics import (
    BULK_DURATION,
    BULK_ITEM_ERRORS,
    BULK_REQUESTS,
    DEAD_LETTERS,
    DUPLICATES,
    END_TO_END,
    PAUSED,
    STAGE_DURATION,
    STAGE_MESSAGES,
)
from workers.runtime.search import ensure_index, make_client

log = logging.getLogger(__name__)
STAGE = "index"
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_BACKOFF_SECONDS = 30.0
MAX_ITEM_ATTEMPTS = 8
MAX_BULK_BYTES = 10_000_000  # well under the engine's 100 MB http.max_content_length


class ShutdownRequested(Exception):
    """SIGTERM arrived while the batch could not be indexed: leave without committing it (it is re-delivered)."""


class _Item:
    __slots__ = ("message", "page_id", "source", "signature", "attempts", "raw_timestamp_ms", "indexed", "replaced")

    def __init__(self, message, doc: dict):
        self.message = message
        self.page_id = doc["page_id"]
        self.source = pipeline.index_document(doc)
        self.signature = doc.get("dedup")
        self.raw_timestamp_ms = doc.get("raw_timestamp_ms")
        self.attempts = 0
        self.indexed = False
        self.replaced = False  # the engine had a document with this id before


def _document_body(item: _Item) -> bytes:
    return orjson.dumps({**item.source, "duplicate_ids": [], "duplicate_count": 0})


def _chunks_by_size(items: list[_Item]) -> list[list[tuple[_Item, bytes]]]:
    chunks, current, size = [], [], 0
    for item in items:
        body = _document_body(item)
        if current and size + len(body) > MAX_BULK_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append((item, body))
        size += len(body)
    if current:
        chunks.append(current)
    return chunks


class Indexer:
    def __init__(self, settings, health: Health | None = None):
        self.settings = settings
        self.alias = settings.index_alias
        self.es = make_client(settings)
        self.health = health or Health({})
        self.input_topic = settings.topic(topics.ENRICHED)
        self.dead_letter_topic = settings.topic(topics.DEAD_LETTER)
        self.consumer = Consumer(client_config(settings, **{
            "group.id": settings.group(STAGE),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": settings.kafka_session_timeout_ms,
            "heartbeat.interval.ms": settings.kafka_session_timeout_ms // 3,
        }))
        self.producer = Producer(producer_config(settings))
        self.dedup = DedupStore(self.es, self.alias, settings.dedup_window_days * 86400, settings.index_replicas)
        self.running = True
        self.paused = False
        PAUSED.labels(STAGE).set(0)  # the series exists from the start, so dashboards and alerts see "not paused"

    def stop(self, *_):
        self.running = False

    # ---------------------------------------------------------------- dead letters

    def _dead_letter(self, message, reason: str, error: str, bulk_attempts: int = 1) -> None:
        attempts = previous_attempts(message.headers()) + bulk_attempts
        STAGE_MESSAGES.labels(STAGE, "dead_letter").inc()
        DEAD_LETTERS.labels(STAGE, reason).inc()
        log.warning("dead letter %s[%s]@%s: %s: %s", message.topic(), message.partition(), message.offset(), reason, error)
        headers = dead_letter_headers(STAGE, reason, error, message.topic(), message.partition(), message.offset(), attempts)
        self.producer.produce(self.dead_letter_topic, key=message.key(), value=message.value(), headers=headers)

    # ---------------------------------------------------------------- waiting out an outage

    def _wait_paused(self, seconds: float) -> None:
        """Sleep while staying in the consumer group: poll with every partition paused."""
        if not self.paused:
            self.consumer.pause(self.consumer.assignment())
            self.paused = True
            PAUSED.labels(STAGE).set(1)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.running:
                raise ShutdownRequested()
            self.health.beat()
            message = self.consumer.poll(min(0.5, max(deadline - time.monotonic(), 0)))
            if message is not None and not message.error():
                # A partition assigned during the wait delivered a record: rewind so it is read again later.
                partition = TopicPartition(message.topic(), message.partition(), message.offset())
                self.consumer.seek(partition)
                self.consumer.pause([partition])

    def _resume(self) -> None:
        if self.paused:
            self.consumer.resume(self.consumer.assignment())
            self.paused = False
            PAUSED.labels(STAGE).set(0)
            log.info("search engine answers again; consumption resumed")

    def _while_engine_unavailable(self, request, what: str):
        """Run `request()` until the engine answers, pausing consumption meanwhile (never gives up: an outage
        is not a page's fault). Non-retryable API errors propagate."""
        attempt = 0
        while True:
            try:
                result = request()
                self._resume()
                return result
            except (ConnectionError, ConnectionTimeout) as error:
                reason = type(error).__name__
            except ApiError as error:
                if error.meta.status not in RETRYABLE_STATUS:
                    raise
                reason = f"HTTP {error.meta.status}"
            if what == "bulk":
                BULK_REQUESTS.labels(STAGE, "error").inc()
            attempt += 1
            delay = min(MAX_BACKOFF_SECONDS, 0.25 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)
            log.warning("search engine unavailable for %s (%s); partitions paused, retry %d in %.1fs", what, reason, attempt, delay)
            self._wait_paused(delay)

    def _bulk(self, chunk: list[tuple[_Item, bytes]]) -> list[dict]:
        """One bulk request, retried while the engine is unavailable. Returns the response items."""
        lines = []
        for item, body in chunk:
            lines.append(orjson.dumps({"index": {"_id": item.page_id}}))
            lines.append(body)
        payload = b"\n".join(lines) + b"\n"

        def request():
            started = time.perf_counter()
            response = self.es.bulk(operations=payload, index=self.alias)
            BULK_DURATION.labels(STAGE).observe(time.perf_counter() - started)
            BULK_REQUESTS.labels(STAGE, "ok").inc()
            return response.body["items"]

        return self._while_engine_unavailable(request, "bulk")

    def _index_chunk(self, chunk: list[tuple[_Item, bytes]]) -> list[_Item]:
        """Index one chunk; returns the items to retry. A whole-request rejection is narrowed down by halving."""
        try:
            results = self._bulk(chunk)
        except ApiError as error:
            if len(chunk) > 1:
                middle = len(chunk) // 2
                return self._index_chunk(chunk[:middle]) + self._index_chunk(chunk[middle:])
            item = chunk[0][0]
            BULK_ITEM_ERRORS.labels(STAGE, str(error.meta.status)).inc()
            self._dead_letter(item.message, "index_rejected", f"HTTP {error.meta.status}: {error.message}")
            return []
        retry = []
        for (item, _), result in zip(chunk, results):
            outcome = next(iter(result.values()))
            status = outcome.get("status", 500)
            item.attempts += 1
            if status < 300:
                item.indexed = True
                item.replaced = outcome.get("result") == "updated"
                STAGE_MESSAGES.labels(STAGE, "ok").inc()
                if item.raw_timestamp_ms:
                    END_TO_END.labels(STAGE).observe(max(time.time() - item.raw_timestamp_ms / 1000, 0))
                continue
            BULK_ITEM_ERRORS.labels(STAGE, str(status)).inc()
            error = outcome.get("error", {})
            detail = f"HTTP {status} {error.get('type')}: {error.get('reason')}"
            if status not in RETRYABLE_STATUS:
                self._dead_letter(item.message, "index_rejected", detail, item.attempts)
            elif item.attempts >= MAX_ITEM_ATTEMPTS:
                self._dead_letter(item.message, "retries_exhausted", detail, item.attempts)
            else:
                retry.append(item)
        return retry

    def index_batch(self, messages: list) -> None:
        started = time.perf_counter()
        pending: list[_Item] = []
        for message in messages:
            try:
                pending.append(_Item(message, orjson.loads(message.value() or b"")))
            except Exception as error:  # one undecodable record must not hold up the partition
                self._dead_letter(message, "invalid_message", f"{type(error).__name__}: {error}")
        self._assign_clusters(pending)
        items = list(pending)
        while pending:
            retry = []
            for chunk in _chunks_by_size(pending):
                retry += self._index_chunk(chunk)
            if retry:
                self._wait_paused(random.uniform(0.5, 1.0) * min(MAX_BACKOFF_SECONDS, 2 ** retry[0].attempts))
            pending = retry
        replaced_heads = [item.page_id for item in items if item.replaced and not item.source["is_duplicate"]]
        if replaced_heads:
            self._while_engine_unavailable(functools.partial(self._restore_copy_lists, replaced_heads), "copy count")
        indexed_copies: dict[str, list[str]] = {}
        for item in items:
            if item.indexed and item.source["is_duplicate"]:
                indexed_copies.setdefault(item.source["cluster_id"], []).append(item.page_id)
        for cluster_id, copies in indexed_copies.items():
            self._while_engine_unavailable(functools.partial(self._record_copies, cluster_id, copies), "copy count")
        self._resume()
        if self.producer.flush(60) > 0:  # dead letters must be durable before the offsets move past them
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "dead letters not acknowledged"))
        per_record = (time.perf_counter() - started) / max(len(messages), 1)
        for _ in messages:
            STAGE_DURATION.labels(STAGE).observe(per_record)

    def _assign_clusters(self, items: list[_Item]) -> None:
        with_signature = [(item.page_id, item.signature) for item in items if item.signature]
        decisions = self._while_engine_unavailable(lambda: self.dedup.assign(with_signature), "dedup") if with_signature else {}
        for item in items:
            decision = decisions.get(item.page_id)
            item.source["cluster_id"] = decision.cluster_id if decision else item.page_id
            item.source["is_duplicate"] = bool(decision and decision.is_duplicate)
            if item.source["is_duplicate"]:
                DUPLICATES.labels(STAGE).inc()

    def _restore_copy_lists(self, head_ids: list[str]) -> None:
        """Re-indexing a first copy wrote an empty copy list: rebuild it from the copies, which name their
        first copy in `cluster_id`. Rare (re-delivery, reprocessing), so one refresh here is affordable."""
        self.es.indices.refresh(index=self.alias)
        query = {"bool": {"filter": [{"terms": {"cluster_id": head_ids}}, {"term": {"is_duplicate": True}}]}}
        copies: dict[str, list[str]] = {}
        search_after = None
        while True:
            hits = self.es.search(index=self.alias, query=query, size=1000, sort=[{"page_id": "asc"}],
                                  search_after=search_after, source_includes=["page_id", "cluster_id"])["hits"]["hits"]
            for hit in hits:
                copies.setdefault(hit["_source"]["cluster_id"], []).append(hit["_source"]["page_id"])
            if len(hits) < 1000:
                break
            search_after = hits[-1]["sort"]
        for head_id, copy_ids in copies.items():
            self._record_copies(head_id, copy_ids)

    def _record_copies(self, cluster_id: str, copies: list[str], attempts: int = 5) -> None:
        """Add copies to their first copy's `duplicate_ids` (a set: re-delivery counts nothing twice), with
        optimistic concurrency so that replicas updating the same first copy never lose an update."""
        for _ in range(attempts):
            head = self.es.options(ignore_status=404).get(index=self.alias, id=cluster_id, realtime=True,
                                                          source_includes=["duplicate_ids"])
            if not head.get("found"):
                log.info("first copy %s is not indexed (yet); its copy count skips %d copies", cluster_id, len(copies))
                return
            ids = sorted(set(head["_source"].get("duplicate_ids") or []) | set(copies))
            response = self.es.options(ignore_status=409).update(
                index=head["_index"], id=cluster_id, if_seq_no=head["_seq_no"], if_primary_term=head["_primary_term"],
                doc={"duplicate_ids": ids, "duplicate_count": len(ids)})
            if response.meta.status != 409:
                return
        log.warning("copy count of %s not updated after %d concurrent-update conflicts", cluster_id, attempts)

    def _commit(self, messages: list) -> None:
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic(), message.partition())
            offsets[key] = max(offsets.get(key, -1), message.offset() + 1)
        try:
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
        except KafkaException as error:
            # e.g. the partition moved to another replica meanwhile: it re-reads from the last commit (idempotent).
            log.warning("offset commit failed, batch will be re-delivered: %s", error)

    def run(self) -> None:
        ensure_index(self.es, self.alias, self.settings.index_replicas, self.settings.index_lifecycle_policy)
        self.consumer.subscribe([self.input_topic])
        log.info("indexing %s into %s", self.input_topic, self.alias)
        try:
            while self.running:
                self.health.beat()
                messages = self.consumer.consume(self.settings.index_batch_size, timeout=self.settings.index_batch_seconds)
                for message in messages:
                    if message.error() and message.error().code() != KafkaError._PARTITION_EOF:
                        log.warning("consumer error: %s", message.error())
                messages = [m for m in messages if not m.error()]
                if messages:
                    self.index_batch(messages)
                    self._commit(messages)
        except ShutdownRequested:
            log.info("stopping with an unindexed batch; it is re-delivered after restart")
        finally:
            self.producer.flush(10)
            self.consumer.close()


def run_indexer(settings) -> None:
    es_client = make_client(settings)

    def engine_check() -> None:
        es_client.cluster.health(timeout="2s")

    health = Health({"kafka": kafka_check(settings), "search_engine": engine_check})
    serve(settings.metrics_host, settings.metrics_port_for(STAGE), health)
    indexer = Indexer(settings, health)
    signal.signal(signal.SIGTERM, indexer.stop)
    signal.signal(signal.SIGINT, indexer.stop)
    lag = LagMonitor(settings, STAGE, settings.group(STAGE), indexer.input_topic)
    lag.start()
    try:
        indexer.run()
    finally:
        lag.stop()
