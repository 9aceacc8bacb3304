"""The index stage: consumes enriched pages, writes them to the search engine in bulk, commits after success.

Offsets are committed only after every document of a batch is either indexed or dead-lettered, so a crash
re-delivers at most the current batch; documents carry `_id = page_id`, so re-delivery rewrites, never duplicates.
"""

from __future__ import annotations

import logging
import random
import signal
import time

import orjson
from confluent_kafka import Consumer, KafkaError, Producer
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

from workers import pipeline, topics
from workers.runtime.deadletter import dead_letter_headers
from workers.runtime.kafka import client_config, producer_config
from workers.runtime.lag import LagMonitor
from workers.runtime.metrics import (
    BULK_DURATION,
    BULK_ITEM_ERRORS,
    BULK_REQUESTS,
    DEAD_LETTERS,
    END_TO_END,
    STAGE_DURATION,
    STAGE_MESSAGES,
    serve_metrics,
)
from workers.runtime.search import ensure_index, make_client

log = logging.getLogger(__name__)
STAGE = "index"
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_BACKOFF_SECONDS = 30.0


class Indexer:
    def __init__(self, settings):
        self.settings = settings
        self.alias = settings.index_alias
        self.es = make_client(settings)
        self.input_topic = settings.topic(topics.ENRICHED)
        self.dead_letter_topic = settings.topic(topics.DEAD_LETTER)
        self.consumer = Consumer(client_config(settings, **{
            "group.id": settings.group(STAGE),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
        }))
        self.producer = Producer(producer_config(settings))
        self.running = True

    def stop(self, *_):
        self.running = False

    def _dead_letter(self, message, reason: str, error: str) -> None:
        STAGE_MESSAGES.labels(STAGE, "dead_letter").inc()
        DEAD_LETTERS.labels(STAGE, reason).inc()
        log.warning("dead letter %s[%s]@%s: %s: %s", message.topic(), message.partition(), message.offset(), reason, error)
        headers = dead_letter_headers(STAGE, reason, error, message.topic(), message.partition(), message.offset())
        self.producer.produce(self.dead_letter_topic, key=message.key(), value=message.value(), headers=headers)

    def _bulk_with_retries(self, operations: list) -> dict:
        """One bulk request, retried with capped exponential backoff and jitter while the engine is unavailable."""
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = self.es.bulk(operations=operations, index=self.alias)
                BULK_DURATION.labels(STAGE).observe(time.perf_counter() - started)
                BULK_REQUESTS.labels(STAGE, "ok").inc()
                return response.body
            except (ConnectionError, ConnectionTimeout) as error:
                reason = type(error).__name__
            except ApiError as error:
                if error.meta.status not in RETRYABLE_STATUS:
                    raise
                reason = f"HTTP {error.meta.status}"
            BULK_REQUESTS.labels(STAGE, "error").inc()
            attempt += 1
            delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)
            log.warning("bulk request failed (%s), retry %d in %.1fs", reason, attempt, delay)
            time.sleep(delay)

    def index_batch(self, messages: list) -> None:
        started = time.perf_counter()
        pending = []  # (message, document) in bulk order
        for message in messages:
            if message.error():
                continue
            try:
                doc = orjson.loads(message.value() or b"")
                pending.append((message, doc, pipeline.index_document(doc)))
            except Exception as error:  # one undecodable record must not hold up the partition
                self._dead_letter(message, "invalid_message", f"{type(error).__name__}: {error}")
        while pending:
            operations = []
            for _, doc, source in pending:
                operations += [{"index": {"_id": doc["page_id"]}}, source]
            response = self._bulk_with_retries(operations)
            retry = []
            for (message, doc, source), item in zip(pending, response["items"]):
                result = item["index"]
                status = result.get("status", 500)
                if status < 300:
                    STAGE_MESSAGES.labels(STAGE, "ok").inc()
                    if doc.get("raw_timestamp_ms"):
                        END_TO_END.labels(STAGE).observe(max(time.time() - doc["raw_timestamp_ms"] / 1000, 0))
                    continue
                BULK_ITEM_ERRORS.labels(STAGE, str(status)).inc()
                if status in RETRYABLE_STATUS:
                    retry.append((message, doc, source))
                else:
                    error = result.get("error", {})
                    self._dead_letter(message, "index_rejected", f"HTTP {status} {error.get('type')}: {error.get('reason')}")
            if retry:
                time.sleep(random.uniform(0.5, 1.0))
            pending = retry
        self.producer.flush()  # dead letters durable before the offsets move past them
        per_record = (time.perf_counter() - started) / max(len(messages), 1)
        for _ in messages:
            STAGE_DURATION.labels(STAGE).observe(per_record)

    def run(self) -> None:
        ensure_index(self.es, self.alias)
        self.consumer.subscribe([self.input_topic])
        log.info("indexing %s into %s", self.input_topic, self.alias)
        while self.running:
            messages = self.consumer.consume(self.settings.index_batch_size, timeout=self.settings.index_batch_seconds)
            for message in messages:
                if message.error() and message.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", message.error())
            messages = [m for m in messages if not m.error()]
            if not messages:
                continue
            self.index_batch(messages)
            self.consumer.commit(asynchronous=False)
        self.consumer.close()  # commits nothing more: everything consumed was committed above


def run_indexer(settings) -> None:
    serve_metrics(settings.metrics_host, settings.metrics_port_for(STAGE))
    indexer = Indexer(settings)
    signal.signal(signal.SIGTERM, indexer.stop)
    signal.signal(signal.SIGINT, indexer.stop)
    lag = LagMonitor(settings, STAGE, settings.group(STAGE), indexer.input_topic)
    lag.start()
    try:
        indexer.run()
    finally:
        lag.stop()
