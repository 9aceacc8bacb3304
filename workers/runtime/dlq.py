"""Reading the dead-letter topic, and replaying its records into the topic each came from."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Consumer, Producer, TopicPartition

from workers import topics
from workers.runtime.deadletter import HEADER_PREFIX, read_dead_letter_headers
from workers.runtime.kafka import client_config, producer_config


@dataclass
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    fields: dict[str, str]  # stage, reason, error, original_topic, ..., failed_at

    def matches(self, stage: str | None, reason: str | None, since: datetime | None) -> bool:
        if stage and self.fields.get("stage") != stage:
            return False
        if reason and self.fields.get("reason") != reason:
            return False
        if since and datetime.fromisoformat(self.fields.get("failed_at", "1970-01-01T00:00:00+00:00")) < since:
            return False
        return True


def read_dead_letters(settings) -> Iterator[DeadLetter]:
    """Every record in the dead-letter topic up to its end when called (no consumer group, nothing committed)."""
    topic = settings.topic(topics.DEAD_LETTER)
    consumer = Consumer(client_config(settings, **{"group.id": f"newswire-dlq-reader-{uuid.uuid4().hex[:8]}",
                                                  "enable.auto.commit": False, "enable.partition.eof": True}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        assignment = []
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                ends[partition] = high
                assignment.append(TopicPartition(topic, partition, low))
        if not assignment:
            return
        consumer.assign(assignment)
        while ends:
            message = consumer.poll(5.0)
            if message is None:
                raise TimeoutError(f"no record from {topic} within 5 s; still expected: {ends}")
            if message.error():
                continue
            if message.offset() < ends.get(message.partition(), -1):
                yield DeadLetter(message.partition(), message.offset(), message.key(), message.value(),
                                 read_dead_letter_headers(message.headers()))
            if message.offset() >= ends.get(message.partition(), 0) - 1:
                ends.pop(message.partition(), None)
    finally:
        consumer.close()


def summarize(letters: list[DeadLetter], samples_per_group: int = 3) -> dict:
    groups = Counter((d.fields.get("stage", "?"), d.fields.get("reason", "?")) for d in letters)
    samples: dict[str, list[dict]] = {}
    for letter in letters:
        group = f"{letter.fields.get('stage', '?')}/{letter.fields.get('reason', '?')}"
        if len(samples.setdefault(group, [])) < samples_per_group:
            samples[group].append({
                "offset": letter.offset,
                "key": (letter.key or b"").decode("utf-8", "replace")[:200],
                "error": letter.fields.get("error", "")[:300],
                "original": f"{letter.fields.get('original_topic')}[{letter.fields.get('original_partition')}]"
                            f"@{letter.fields.get('original_offset')}",
                "failed_at": letter.fields.get("failed_at"),
            })
    return {
        "total": len(letters),
        "by_stage_reason": {f"{stage}/{reason}": count for (stage, reason), count in groups.most_common()},
        "samples": samples,
    }


def replay(settings, letters: list[DeadLetter], progress=None) -> int:
    """Send each record back to the topic it failed on, with its attempt count carried in a header."""
    producer = Producer(producer_config(settings))
    failures: list[str] = []

    def on_delivery(error, _message):
        if error is not None:
            failures.append(str(error))

    for letter in letters:
        target = letter.fields.get("original_topic")
        if not target:
            failures.append(f"offset {letter.offset}: no original_topic header")
            continue
        headers = [(HEADER_PREFIX + "attempts", letter.fields.get("attempts", "1").encode()),
                   (HEADER_PREFIX + "replayed_from", f"{letter.partition}:{letter.offset}".encode())]
        producer.produce(target, key=letter.key, value=letter.value, headers=headers, on_delivery=on_delivery)
        producer.poll(0)
        if progress is not None:
            progress.update(1)
    remaining = producer.flush(60)
    if failures or remaining:
        raise RuntimeError(f"{len(failures) + remaining} records not replayed: {failures[:3]}")
    return len(letters)
