"""The index stage's bulk processor: documents into bulk requests, responses into indexed, retried or dead-lettered.

- Every request goes through `call`, which waits out engine-wide conditions (workers/runtime/outage.py) with
  capped exponential backoff and jitter, through the `wait` it is given (the indexer pauses its partitions and
  keeps polling meanwhile), and never gives up: an outage is not a page's fault.
- A bulk whose every failed item is an engine-wide condition and in which no item succeeded (the index under a
  block, every item 429) is an outage of its own: the same request is retried, no document spends an attempt.
- Otherwise, item by item: a rejection (mapping or parsing error, other 4xx) is dead-lettered `index_rejected`;
  a 429/5xx item spends one attempt when others in the same bulk succeeded, and is dead-lettered
  `retries_exhausted` after MAX_ITEM_ATTEMPTS; a blocked item, or a 429/5xx item of a bulk where nothing
  succeeded, is retried without spending one.
- A whole request rejected (e.g. too large) is split in halves until the bad document is isolated; bulks are
  capped at MAX_BULK_BYTES.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import orjson
from elasticsearch import ApiError

from workers import pipeline
from workers.runtime.metrics import BULK_DURATION, BULK_ITEM_ERRORS, BULK_REQUESTS, END_TO_END, STAGE_MESSAGES
from workers.runtime.outage import EngineUnavailable, item_condition, request_condition

log = logging.getLogger(__name__)
STAGE = "index"
MAX_BACKOFF_SECONDS = 30.0
MAX_ITEM_ATTEMPTS = 8
MAX_BULK_BYTES = 10_000_000  # well under the engine's 100 MB http.max_content_length


def backoff_seconds(attempt: int) -> float:
    """Capped exponential backoff with jitter: 0.25-0.5 s after the first failure, up to 15-30 s."""
    return min(MAX_BACKOFF_SECONDS, 0.25 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)


class Item:
    """One consumed record on its way into the index."""

    __slots__ = ("message", "page_id", "source", "signature", "attempts", "raw_timestamp_ms", "indexed", "replaced",
                 "story", "story_topic", "story_topic_pages")

    def __init__(self, message, doc: dict):
        self.message = message
        self.page_id = doc["page_id"]
        self.source = pipeline.index_document(doc)
        self.signature = doc.get("dedup")
        self.raw_timestamp_ms = doc.get("raw_timestamp_ms")
        self.attempts = 0  # failures that were this document's own
        self.indexed = False
        self.replaced = False  # the engine had a document with this id before
        self.story = None  # its StoryDecision (workers/runtime/story_store.py), set by the indexer
        # Its story's topic distribution (indexer: the mean of its own and the other pages' own distributions) and
        # those other pages, which take it in turn; empty while the page is alone in its story.
        self.story_topic: dict[str, float] = {}
        self.story_topic_pages: tuple[str, ...] = ()


def _document_body(item: Item) -> bytes:
    return orjson.dumps({**item.source, "duplicate_ids": [], "duplicate_count": 0})


def chunks_by_size(items: list[Item]) -> list[list[tuple[Item, bytes]]]:
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


class BulkProcessor:
    """`reporter` takes dead letters (DeadLetterReporter); `wait(reason, seconds)` backs off while paused and
    `resume()` ends a pause."""

    def __init__(self, es, alias: str, reporter, wait: Callable[[str, float], None], resume: Callable[[], None]):
        self.es, self.alias, self.reporter = es, alias, reporter
        self.wait, self.resume = wait, resume

    def call(self, request: Callable[[], object], what: str):
        """`request()` until it returns, waiting out engine-wide conditions; any other error propagates."""
        attempt = 0
        while True:
            try:
                result = request()
                self.resume()
                return result
            except Exception as error:
                outage = request_condition(error)
                if outage is None:
                    raise
            if what == "bulk":
                BULK_REQUESTS.labels(STAGE, "error").inc()
            attempt += 1
            delay = backoff_seconds(attempt)
            log.warning("search engine cannot take %s (%s: %s); partitions paused, retry %d in %.1fs",
                        what, outage.reason, outage.detail, attempt, delay)
            self.wait(outage.reason, delay)

    def index(self, items: list[Item]) -> None:
        """Index every item or dead-letter it; returns when none is left to retry."""
        pending, rounds = items, 0
        while pending:
            retry: list[tuple[Item, str]] = []
            for chunk in chunks_by_size(pending):
                retry += self._index_chunk(chunk)
            if retry:
                rounds += 1
                self.wait(retry[0][1], backoff_seconds(rounds))
            pending = [item for item, _ in retry]

    def _send(self, chunk: list[tuple[Item, bytes]]) -> list[dict]:
        """One bulk request; raises EngineUnavailable when the engine refused the whole of it item by item."""
        lines = []
        for item, body in chunk:
            lines.append(orjson.dumps({"index": {"_id": item.page_id}}))
            lines.append(body)
        started = time.perf_counter()
        response = self.es.bulk(operations=b"\n".join(lines) + b"\n", index=self.alias)
        BULK_DURATION.labels(STAGE).observe(time.perf_counter() - started)
        results = [next(iter(result.values())) for result in response.body["items"]]
        if response.body.get("errors") and not any(result.get("status", 500) < 300 for result in results):
            conditions = [item_condition(result) for result in results]
            if all(conditions):
                first = results[0].get("error") or {}
                reason = "blocked" if "blocked" in conditions else conditions[0]
                raise EngineUnavailable(reason, f"all {len(results)} items of a bulk failed, e.g. HTTP "
                                                f"{results[0].get('status')} {first.get('type')}: {first.get('reason')}")
        BULK_REQUESTS.labels(STAGE, "ok").inc()
        return results

    def _index_chunk(self, chunk: list[tuple[Item, bytes]]) -> list[tuple[Item, str]]:
        """Index one chunk; returns the items to retry, each with the condition it met."""
        try:
            results = self.call(lambda: self._send(chunk), "bulk")
        except ApiError as error:  # the request itself was rejected, not an outage
            if len(chunk) > 1:
                middle = len(chunk) // 2
                return self._index_chunk(chunk[:middle]) + self._index_chunk(chunk[middle:])
            item = chunk[0][0]
            BULK_ITEM_ERRORS.labels(STAGE, str(error.meta.status)).inc()
            self.reporter.report(item.message, "index_rejected", f"HTTP {error.meta.status}: {error.message}")
            return []
        some_succeeded = any(result.get("status", 500) < 300 for result in results)
        retry = []
        for (item, _), result in zip(chunk, results):
            status = result.get("status", 500)
            if status < 300:
                item.indexed = True
                item.replaced = result.get("result") == "updated"
                STAGE_MESSAGES.labels(STAGE, "ok").inc()
                if item.raw_timestamp_ms:
                    END_TO_END.labels(STAGE).observe(max(time.time() - item.raw_timestamp_ms / 1000, 0))
                continue
            BULK_ITEM_ERRORS.labels(STAGE, str(status)).inc()
            error = result.get("error") or {}
            detail = f"HTTP {status} {error.get('type')}: {error.get('reason')}"
            condition = item_condition(result)
            if condition is None:
                item.attempts += 1
                self.reporter.report(item.message, "index_rejected", detail, item.attempts)
                continue
            if some_succeeded and condition != "blocked":
                item.attempts += 1  # its neighbours went in: this failure is the document's own
                if item.attempts >= MAX_ITEM_ATTEMPTS:
                    self.reporter.report(item.message, "retries_exhausted", detail, item.attempts)
                    continue
            retry.append((item, condition))
        return retry
