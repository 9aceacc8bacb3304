"""Per-record stage work, run inside a process pool so CPU-heavy cleaning or NER never blocks Kafka heartbeats.

Everything here is picklable and I/O-free: records in, outcomes out. A failure of one record becomes a
dead-letter outcome with a reason; it never escapes to stop the worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from workers import pipeline
from workers.encoder import get_encoder
from workers.envelope import EnvelopeError
from workers.stages.clean import CleanError


MAX_HEADER_BYTES = 65_536  # newswire's own headers are a few hundred bytes; more is not a page we can trust


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    header_bytes: int = 0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: bytes | None  # the output record's value when ok
    reason: str | None  # dead-letter reason when not ok
    message: str | None
    seconds: float


def _decode_doc(value: bytes | None) -> dict:
    try:
        doc = orjson.loads(value or b"")
    except orjson.JSONDecodeError as error:
        raise EnvelopeError("invalid_message", f"not a pipeline document: {error}") from None
    if not isinstance(doc, dict) or doc.get("v") != pipeline.DOC_VERSION or "page_id" not in doc:
        raise EnvelopeError("invalid_message", "not a pipeline document of version %s" % pipeline.DOC_VERSION)
    return doc


def _clean(record: Record, max_bytes: int) -> dict:
    if record.header_bytes > MAX_HEADER_BYTES:
        raise EnvelopeError("headers_too_large", f"record headers are {record.header_bytes} bytes, the limit is {MAX_HEADER_BYTES}")
    return pipeline.clean_record(record.key, record.value, record.timestamp_ms, max_bytes)


def _enrich(record: Record, max_bytes: int) -> dict:
    return pipeline.fingerprint_doc(pipeline.enrich_doc(_decode_doc(record.value)))


def _classify(record: Record, max_bytes: int) -> dict:
    return pipeline.classify_doc(_decode_doc(record.value))


TRANSFORMS = {"clean": _clean, "classify": _classify, "enrich": _enrich}


def transform_one(stage: str, record: Record, max_bytes: int) -> Outcome:
    started = time.perf_counter()
    try:
        doc = TRANSFORMS[stage](record, max_bytes)
        return Outcome(True, orjson.dumps(doc), None, None, time.perf_counter() - started)
    except (EnvelopeError, CleanError) as error:
        return Outcome(False, None, error.reason, str(error), time.perf_counter() - started)
    except Exception as error:  # a model or library failure on one page must not stop the stream
        return Outcome(False, None, f"{stage}_failed", f"{type(error).__name__}: {error}", time.perf_counter() - started)


# The most records a stream stage hands its pool at once (streams.py; the benchmarks batch as the workers do).
BATCH_SIZE = 32
# The stages whose encoder pass runs once per batch: the documents of a batch in, the same documents out.
BATCH_TRANSFORMS = {
    "classify": pipeline.classify_docs,
    "enrich": lambda docs: [pipeline.fingerprint_doc(doc) for doc in pipeline.enrich_docs(docs)],
}


def transform_batch(stage: str, records: list[Record], max_bytes: int) -> list[Outcome]:
    if stage in BATCH_TRANSFORMS:
        return _encoder_batch(stage, records)
    return [transform_one(stage, record, max_bytes) for record in records]


def _encoder_batch(stage: str, records: list[Record]) -> list[Outcome]:
    """The stage's encoder runs once for the whole batch; a record it cannot take is isolated by running the
    batch's documents one by one."""
    started = time.perf_counter()
    outcomes: list[Outcome | None] = [None] * len(records)
    docs, positions = [], []
    for position, record in enumerate(records):
        try:
            docs.append(_decode_doc(record.value))
            positions.append(position)
        except EnvelopeError as error:
            outcomes[position] = Outcome(False, None, error.reason, str(error), 0.0)
    try:
        transformed = BATCH_TRANSFORMS[stage](docs)
    except Exception:  # noqa: BLE001 - one bad document must not fail its neighbours: find it
        for position in positions:
            outcomes[position] = transform_one(stage, records[position], 0)
        return outcomes
    share = (time.perf_counter() - started) / max(1, len(docs))
    for position, doc in zip(positions, transformed):
        outcomes[position] = Outcome(True, orjson.dumps(doc), None, None, share)
    return outcomes


def warm_up(stage: str) -> dict | None:
    """Load the stage's models in the pool process before the first record arrives; a stage that runs the encoder
    returns what it runs on (runtime, precision, instruction set), for the worker's metrics."""
    if stage == "classify":
        pipeline.classify_stage.classify("Warm-up", "A sentence to load the model.", "en")
        return get_encoder().description()
    if stage == "enrich":
        pipeline.enrich_stage.extract_entities("A sentence about London to load the model.", "en")
        # Hindi too: it loads the Devanagari models (with context-deva, only it compiles the encoder's token graph).
        pipeline.enrich_stage.extract_entities("लंदन के बारे में एक वाक्य।", "hi")
        if pipeline.enrich_stage.entity_tagger() != "crf":
            return get_encoder().description()
    return None
