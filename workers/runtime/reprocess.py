"""Re-running stages over pages already ingested, through the running pipeline (same document ids, so nothing
is duplicated; each document records the model versions that produced it under `models`).

- classify / enrich: the pages come from the index (their stored clean text) and are sent to the input topic
  of the earliest chosen stage; the stages after it run too (the pipeline is a chain).
- clean: the raw pages come from the raw topic (while retained, 7 days by default) and are sent to it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from workers import pipeline, topics
from workers.runtime.kafka import client_config, producer_config

STAGE_ORDER = ["clean", "classify", "enrich"]
ENTRY_TOPIC = {"clean": topics.RAW, "classify": topics.CLEANED, "enrich": topics.CLASSIFIED}
CLEAN_FIELDS = ["title", "body", "lead", "published_at", "authors", "section", "site_name", "canonical_url", "quality"]


def entry_stage(stages: list[str]) -> str:
    unknown = set(stages) - set(STAGE_ORDER)
    if unknown or not stages:
        raise ValueError(f"stages must be among {', '.join(STAGE_ORDER)}; got {', '.join(stages) or 'none'}")
    return min(stages, key=STAGE_ORDER.index)


def doc_from_indexed(source: dict) -> dict:
    """The pipeline document a stored page came from, as far as the stages after clean need it."""
    return {
        "v": pipeline.DOC_VERSION,
        "page_id": source["page_id"],
        "url": source.get("url"),
        "source": source.get("source"),
        "fetched_at": source.get("fetched_at"),
        "content_type": None,
        "raw_timestamp_ms": None,  # not a new arrival: keeps end-to-end latency metrics honest
        "clean": {field: source.get(field) for field in CLEAN_FIELDS},
        "language": {"code": source["lang"], "script": source.get("script"), "confidence": None,
                     "mixed": source.get("lang_mixed", False)},
        # the page's own topic, not its story's (`category`), so that the story's category is decided again
        "topic": _own_topic(source),
        "entities": source.get("entities", []),
        # kept so that re-running only the enrich stage does not drop the page embedding from the document
        "embedding": source.get("embedding"),
        "models": {"clean": (source.get("models") or {}).get("clean"), "embedding": (source.get("models") or {}).get("embedding")},
    }


def _own_topic(source: dict) -> dict:
    probabilities = source.get("topic_probabilities") or {}
    label = source.get("page_category") or source.get("category")  # pages indexed before stories had categories
    score = probabilities.get(label, source.get("category_score"))
    return {"label": label, "score": score, "probabilities": probabilities}


def indexed_pages(client, alias: str, since: datetime | None, until: datetime, query: str | None,
                  page_size: int = 500) -> Iterator[dict]:
    filters = [{"range": {"indexed_at": {"lt": until.isoformat(), **({"gte": since.isoformat()} if since else {})}}}]
    if query:
        filters.append({"query_string": {"query": query}})
    search_after = None
    while True:
        response = client.search(index=alias, size=page_size, sort=[{"page_id": "asc"}], search_after=search_after,
                                 query={"bool": {"filter": filters}}, source_excludes=["duplicate_ids"])
        hits = response["hits"]["hits"]
        if not hits:
            return
        for hit in hits:
            yield hit["_source"]
        search_after = hits[-1]["sort"]


def count_indexed(client, alias: str, since: datetime | None, until: datetime, query: str | None) -> int:
    filters = [{"range": {"indexed_at": {"lt": until.isoformat(), **({"gte": since.isoformat()} if since else {})}}}]
    if query:
        filters.append({"query_string": {"query": query}})
    return client.count(index=alias, query={"bool": {"filter": filters}})["count"]


def retained_raw_records(settings, since: datetime | None, until: datetime) -> Iterator[tuple[bytes | None, bytes]]:
    """Raw records with a timestamp in [since, until) that the raw topic still retains."""
    topic = settings.topic(topics.RAW)
    consumer = Consumer(client_config(settings, **{"group.id": "newswire-reprocess", "enable.auto.commit": False}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        start_ms = int(since.timestamp() * 1000) if since else 0
        starts = consumer.offsets_for_times([TopicPartition(topic, p, start_ms) for p in partitions], timeout=10)
        ends = {}
        assignment = []
        for start in starts:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, start.partition), timeout=10)
            if start.offset >= 0 and start.offset < high:
                ends[start.partition] = high
                assignment.append(start)
        consumer.assign(assignment)
        until_ms = until.timestamp() * 1000
        while ends:
            message = consumer.poll(5.0)
            if message is None:
                raise TimeoutError(f"no record from {topic} within 5 s; still expected: {ends}")
            if message.error() or message.partition() not in ends:
                continue
            if message.timestamp()[1] < until_ms:
                yield message.key(), message.value()
            if message.offset() >= ends[message.partition()] - 1:
                ends.pop(message.partition())
    finally:
        consumer.close()


def send(settings, topic_name: str, records: Iterator[tuple[bytes | None, bytes]], progress=None) -> int:
    producer = Producer(producer_config(settings, **{"message.max.bytes": 33_554_432}))
    errors: list[str] = []
    sent = 0
    for key, value in records:
        while True:
            try:
                producer.produce(settings.topic(topic_name), key=key, value=value,
                                 on_delivery=lambda error, _: error and errors.append(str(error)))
                break
            except BufferError:
                producer.poll(1.0)
        producer.poll(0)
        sent += 1
        if progress is not None:
            progress.update(1)
    remaining = producer.flush(60)
    if errors or remaining:
        raise RuntimeError(f"{len(errors) + remaining} records not delivered: {errors[:3]}")
    return sent


def indexed_records(pages: Iterator[dict]) -> Iterator[tuple[bytes, bytes]]:
    for source in pages:
        yield source["page_id"].encode(), orjson.dumps(doc_from_indexed(source))
