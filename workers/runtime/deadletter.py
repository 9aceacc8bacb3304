"""Dead-letter records: the original key and value, with headers that say where they came from and why."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from confluent_kafka import KafkaError, KafkaException

from workers.runtime.metrics import DEAD_LETTERS, STAGE_MESSAGES

log = logging.getLogger(__name__)

HEADER_PREFIX = "newswire."


def dead_letter_headers(stage: str, reason: str, message: str, topic: str, partition: int, offset: int,
                        attempts: int = 1) -> list[tuple[str, bytes]]:
    fields = {
        "stage": stage,
        "reason": reason,
        "error": message[:2000],  # bounded: a stack of error text must not exceed the broker's header budget
        "original_topic": topic,
        "original_partition": str(partition),
        "original_offset": str(offset),
        "attempts": str(attempts),
        "failed_at": datetime.now(timezone.utc).isoformat(),
    }
    return [(HEADER_PREFIX + name, value.encode("utf-8")) for name, value in fields.items()]


def read_dead_letter_headers(headers) -> dict[str, str]:
    """Header list (as either client returns it) -> {field: value} for the newswire.* headers."""
    result = {}
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    for name, value in items:
        if name.startswith(HEADER_PREFIX):
            result[name[len(HEADER_PREFIX):]] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return result


def previous_attempts(headers) -> int:
    """How often a record has failed before: 0 for a new record, N for one replayed from the dead-letter topic."""
    try:
        return int(read_dead_letter_headers(headers).get("attempts", "0"))
    except ValueError:
        return 0


class DeadLetterReporter:
    """The index stage's error reporter: sends a consumed record to the dead-letter topic with its headers, and
    makes every dead letter durable (`flush`) before the consumer commits past it."""

    def __init__(self, producer, topic: str, stage: str):
        self.producer, self.topic, self.stage = producer, topic, stage

    def report(self, message, reason: str, error: str, attempts: int = 1) -> None:
        """`attempts`: this stage's attempts at the record; the record's earlier ones (a replay) are added."""
        STAGE_MESSAGES.labels(self.stage, "dead_letter").inc()
        DEAD_LETTERS.labels(self.stage, reason).inc()
        log.warning("dead letter %s[%s]@%s: %s: %s", message.topic(), message.partition(), message.offset(), reason, error)
        headers = dead_letter_headers(self.stage, reason, error, message.topic(), message.partition(), message.offset(),
                                      previous_attempts(message.headers()) + attempts)
        self.producer.produce(self.topic, key=message.key(), value=message.value(), headers=headers)

    def flush(self, timeout: float = 60) -> None:
        if self.producer.flush(timeout) > 0:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "dead letters not acknowledged"))
