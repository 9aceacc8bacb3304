"""Prometheus metrics shared by every worker. Names follow Prometheus conventions; every series has `stage`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Stage work is milliseconds to seconds; end-to-end spans queueing, so its buckets reach further.
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
END_TO_END_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

STAGE_MESSAGES = Counter(
    "newswire_stage_messages", "Records handled by a stage, by outcome (ok, dead_letter).", ["stage", "outcome"]
)
STAGE_DURATION = Histogram(
    "newswire_stage_duration_seconds", "Time a stage spends on one record.", ["stage"], buckets=STAGE_BUCKETS
)
DEAD_LETTERS = Counter("newswire_dead_letters", "Records sent to the dead-letter topic.", ["stage", "reason"])
END_TO_END = Histogram(
    "newswire_end_to_end_seconds",
    "From the raw record's Kafka timestamp to the bulk request that indexed it.",
    ["stage"],
    buckets=END_TO_END_BUCKETS,
)
BULK_REQUESTS = Counter("newswire_bulk_requests", "Bulk requests to the search engine, by outcome.", ["stage", "outcome"])
BULK_ITEM_ERRORS = Counter(
    "newswire_bulk_item_errors", "Documents the search engine rejected, by HTTP status.", ["stage", "status"]
)
BULK_DURATION = Histogram(
    "newswire_bulk_duration_seconds", "Duration of one bulk request.", ["stage"], buckets=STAGE_BUCKETS
)
CONSUMER_LAG = Gauge(
    "newswire_consumer_lag_messages", "Records in the input topic not yet consumed by the stage.", ["stage", "topic", "partition"]
)
PAUSED = Gauge("newswire_stage_paused", "1 while the stage has paused consumption (its output is unavailable).", ["stage"])
PAUSED_SECONDS = Counter(
    "newswire_stage_paused_seconds",
    "Time the stage spent with consumption paused, by reason (unreachable, blocked, no_master, overloaded, unavailable, contended).",
    ["stage", "reason"],
)
DUPLICATES = Counter("newswire_duplicates", "Pages indexed as a copy of an earlier story (near-duplicates).", ["stage"])
STORIES = Counter("newswire_stories", "Stories started: pages that joined no earlier telling, by the page's language.",
                  ["stage", "lang"])
STORY_NAMES_LINKED = Counter(
    "newswire_story_names_linked",
    "Earlier pages of a story whose transliterated names took a later telling's spelling (partial updates).",
    ["stage"])
STORY_CATEGORY_OVERRIDES = Counter(
    "newswire_story_category_overrides",
    "Pages written under their story's category where it is not the page's own (new pages and partial updates).",
    ["stage"])
ENCODER_INFO = Gauge(
    "newswire_encoder_info",
    "1 for the shared encoder's inference runtime, precision (int8 on VNNI/AMX units, bf16, or the fp32 fallback) and CPU instruction set.",
    ["stage", "runtime", "precision", "isa"],
)
