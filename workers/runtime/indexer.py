"""The index stage: consumes enriched pages, writes them to the search engine in bulk, commits after success.

Its units follow the Kafka Connect Elasticsearch sink: settings (workers/config.py), the client
(workers/runtime/search.py), the bulk processor (workers/runtime/bulk.py: requests, retries, item outcomes), the
error reporter (DeadLetterReporter in workers/runtime/deadletter.py); this module is the task: the consumer
loop, pausing, near-duplicate clusters, commits.

Guarantees:
- Offsets are committed only after every document of a batch is indexed or dead-lettered (and the dead letters
  are acknowledged), so a crash re-delivers at most the current batch; `_id = page_id`, so re-delivery rewrites
  the same document and never duplicates it.
- While the engine cannot take writes (workers/runtime/outage.py: unreachable, blocked, no master, overloaded,
  unavailable; or contended, the story store's keys changing under other replicas) the consumer pauses its
  partitions and keeps polling (so it stays in the group), retrying with capped exponential backoff and jitter;
  it resumes when a request succeeds. Nothing is dead-lettered because of an outage, and no page spends an
  attempt on one; the time paused is counted by reason (`newswire_stage_paused_seconds_total`).
- Item-level rejections (mapping or parsing errors, 4xx) go to the dead-letter topic; an item that gets 429/5xx
  while others in its bulk succeed is retried up to MAX_ITEM_ATTEMPTS times, then dead-lettered as
  `retries_exhausted`.
- Stories across languages: each page with an embedding gets `story_id` from the story store
  (workers/runtime/story_store.py), the same for tellings of one story in any language; new stories are counted
  per language (`newswire_stories_total`); a page that joins a story takes the story's Latin-script names for the
  names it could only transliterate (एलन मस्क → "Elon Musk" where its English telling names him), and the
  story's pages it was compared with take its names in turn, by partial update (a Hindi telling indexed first;
  `newswire_story_names_linked_total`). The same pages are filed under one category, the mean of their own topic
  distributions (`category`; `page_category` keeps the page's own; `newswire_story_category_overrides_total`).
- Near-duplicates: each page gets `cluster_id` (its story's first copy) and `is_duplicate` from the dedup store
  (workers/runtime/dedup_store.py); a first copy keeps the ids and count of its copies. Documents are written
  whole with `index` (an `update` + upsert costs the engine a read and a merge per document); a first copy that
  was already indexed (a re-delivery, a reprocessing) gets its copy list rebuilt from its copies right after.
"""

from __future__ import annotations

import functools
import logging
import signal
import time

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from workers import pipeline, topics
from workers.runtime.bulk import BulkProcessor, Item
from workers.runtime.dedup_store import DedupStore
from workers.runtime.deadletter import DeadLetterReporter
from workers.runtime.health import Health, kafka_check, serve
from workers.runtime.kafka import client_config, producer_config
from workers.runtime.lag import LagMonitor
from workers.runtime.metrics import (DUPLICATES, PAUSED, PAUSED_SECONDS, STAGE_DURATION, STORIES,
                                      STORY_CATEGORY_OVERRIDES, STORY_NAMES_LINKED)
from workers.runtime.outage import PAUSE_REASONS
from workers.runtime.search import ensure_index, make_client
from workers.runtime.story_store import StoryStore
from workers.stages import story

log = logging.getLogger(__name__)
STAGE = "index"
# Pages of a story read back to decide its category; a story with more (a syndicated text with many copies) is
# decided on these, which its copies dominate anyway.
STORY_PAGES_READ = 100


class ShutdownRequested(Exception):
    """SIGTERM arrived while the batch could not be indexed: leave without committing it (it is re-delivered)."""


class Indexer:
    def __init__(self, settings, health: Health | None = None):
        self.settings = settings
        self.alias = settings.index_alias
        self.es = make_client(settings)
        self.health = health or Health({})
        self.input_topic = settings.topic(topics.ENRICHED)
        self.consumer = Consumer(client_config(settings, **{
            "group.id": settings.group(STAGE),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": settings.kafka_session_timeout_ms,
            "heartbeat.interval.ms": settings.kafka_session_timeout_ms // 3,
        }))
        self.producer = Producer(producer_config(settings))
        self.reporter = DeadLetterReporter(self.producer, settings.topic(topics.DEAD_LETTER), STAGE)
        self.bulk = BulkProcessor(self.es, self.alias, self.reporter, self._wait_paused, self._resume)
        self.dedup = DedupStore(self.es, self.alias, settings.dedup_window_days * 86400, settings.index_replicas)
        self.stories = StoryStore(self.es, self.alias, settings.index_replicas)
        self.running = True
        self.paused = False
        # The series exist from the start, so dashboards and alerts see "not paused" and whole increases.
        PAUSED.labels(STAGE).set(0)
        for reason in PAUSE_REASONS:
            PAUSED_SECONDS.labels(STAGE, reason)

    def stop(self, *_):
        self.running = False

    # ---------------------------------------------------------------- waiting out an outage

    def _wait_paused(self, reason: str, seconds: float) -> None:
        """Sleep while staying in the consumer group: poll with every partition paused; the time counts as
        paused for `reason`."""
        if not self.paused:
            self.consumer.pause(self.consumer.assignment())
            self.paused = True
            PAUSED.labels(STAGE).set(1)
        paused_seconds = PAUSED_SECONDS.labels(STAGE, reason)
        last = time.monotonic()
        deadline = last + seconds
        while last < deadline:
            if not self.running:
                raise ShutdownRequested()
            self.health.beat()
            message = self.consumer.poll(min(0.5, max(deadline - last, 0)))
            now = time.monotonic()
            paused_seconds.inc(now - last)
            last = now
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

    def index_batch(self, messages: list) -> None:
        started = time.perf_counter()
        pending: list[Item] = []
        for message in messages:
            try:
                pending.append(Item(message, orjson.loads(message.value() or b"")))
            except Exception as error:  # one undecodable record must not hold up the partition
                self.reporter.report(message, "invalid_message", f"{type(error).__name__}: {error}")
        self._assign_clusters(pending)
        categories = self._assign_stories(pending)
        self.bulk.index(pending)
        self.bulk.call(functools.partial(self._link_earlier_tellings, pending, categories), "story names")
        replaced_heads = [item.page_id for item in pending if item.replaced and not item.source["is_duplicate"]]
        if replaced_heads:
            self.bulk.call(functools.partial(self._restore_copy_lists, replaced_heads), "copy count")
        indexed_copies: dict[str, list[str]] = {}
        for item in pending:
            if item.indexed and item.source["is_duplicate"]:
                indexed_copies.setdefault(item.source["cluster_id"], []).append(item.page_id)
        for cluster_id, copies in indexed_copies.items():
            self.bulk.call(functools.partial(self._record_copies, cluster_id, copies), "copy count")
        self._resume()
        self.reporter.flush(60)  # dead letters must be durable before the offsets move past them
        per_record = (time.perf_counter() - started) / max(len(messages), 1)
        for _ in messages:
            STAGE_DURATION.labels(STAGE).observe(per_record)

    def _assign_clusters(self, items: list[Item]) -> None:
        with_signature = [(item.page_id, item.signature) for item in items if item.signature]
        decisions = self.bulk.call(lambda: self.dedup.assign(with_signature), "dedup") if with_signature else {}
        for item in items:
            decision = decisions.get(item.page_id)
            item.source["cluster_id"] = decision.cluster_id if decision else item.page_id
            item.source["is_duplicate"] = bool(decision and decision.is_duplicate)
            if item.source["is_duplicate"]:
                DUPLICATES.labels(STAGE).inc()

    def _assign_stories(self, items: list[Item]) -> dict[str, str]:
        """story_id across languages from the story store; a page without an embedding is its own story. A page
        that joins a story gets the Latin-script names of its pages for names it only transliterated, and the
        story's category: the mean of its own topic distribution and theirs. Returns the current category of
        the story pages the search read (page id -> category), so that unchanged pages are not read again."""
        with_embedding = [(item.page_id, story_features(item.source)) for item in items if item.source.get("embedding")]
        decisions = self.bulk.call(lambda: self.stories.assign(with_embedding), "stories") if with_embedding else {}
        joined = sorted({decision.story_id for decision in decisions.values() if not decision.is_new})
        others, categories = self.bulk.call(lambda: self._story_topics(joined), "stories") if joined else ({}, {})
        for item in items:
            decision = decisions.get(item.page_id)
            item.source["story_id"] = decision.story_id if decision else item.page_id
            if decision and decision.names:
                item.source = pipeline.link_story_names(item.source, decision.names)
            item.story = decision
            if decision and not decision.is_new:
                tellings = {**others.get(decision.story_id, {}), **decision.topics}
                tellings.pop(item.page_id, None)
                own = item.source.get("topic_probabilities")
                if tellings:
                    item.story_topic = story.story_topic([*([own] if own else []), *tellings.values()])
                    item.story_topic_pages = tuple(tellings)
                    item.source = pipeline.with_story_topic(item.source, item.story_topic)
            if decision is None or decision.is_new:
                STORIES.labels(STAGE, item.source["lang"]).inc()
        return categories

    def _story_topics(self, story_ids: list[str]) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, str]]:
        """(story id -> page id -> own topic distribution, page id -> current category) of the stories' indexed
        pages, up to STORY_PAGES_READ per story. A search, so refreshed pages only: the story store's realtime
        features cover the pages of the last second."""
        response = self.es.search(index=self.alias, query={"terms": {"story_id": story_ids}},
                                  size=min(10_000, STORY_PAGES_READ * len(story_ids)), sort=[{"page_id": "asc"}],
                                  source_includes=["story_id", "topic_probabilities", "category"])
        found: dict[str, dict[str, dict[str, float]]] = {}
        categories: dict[str, str] = {}
        for hit in response["hits"]["hits"]:
            pages = found.setdefault(hit["_source"]["story_id"], {})
            if hit["_source"].get("topic_probabilities") and len(pages) < STORY_PAGES_READ:
                pages[hit["_id"]] = hit["_source"]["topic_probabilities"]
                categories[hit["_id"]] = hit["_source"].get("category")
        return found, categories

    def _link_earlier_tellings(self, items: list[Item], categories: dict[str, str], attempts: int = 3) -> None:
        """The other direction of `_assign_stories`: the story's pages a new telling was compared with take its
        names for the names they could only transliterate (a Hindi telling indexed before its English one) and
        the story's category, in a partial update with optimistic concurrency (a replica or a re-delivery may
        write the same page). `categories`: pages whose current category is known (the story search); those that
        already have their story's label are not read again."""
        lent: dict[str, set[str]] = {}
        topics: dict[str, dict[str, float]] = {}
        categories = {**categories, **{item.page_id: item.source["category"] for item in items if item.indexed}}
        for item in items:
            if not (item.indexed and item.story):
                continue
            if item.source["category"] != item.source["page_category"]:
                STORY_CATEGORY_OVERRIDES.labels(STAGE).inc()
            names = {entity["canonical"] for entity in item.source.get("entities") or [] if not entity.get("transliterated")}
            for page_id in item.story.pages if names else ():
                lent.setdefault(page_id, set()).update(names)
            for page_id in item.story_topic_pages:
                topics[page_id] = item.story_topic  # a later page of the batch has seen more
        topics = {page_id: topic for page_id, topic in topics.items()
                  if categories.get(page_id) != story.story_label(topic)}  # unknown (None) pages are read
        name_fields, topic_fields = ["entities", "people", "organisations", "places"], ["category", "category_score"]
        fields = [*name_fields, *topic_fields, "page_category"]
        pending = sorted(set(lent) | set(topics))
        for _ in range(attempts):
            if not pending:
                return
            docs = self.es.mget(index=self.alias, ids=pending, source_includes=fields, realtime=True)["docs"]
            retry = []
            for doc in docs:
                if not doc.get("found"):
                    continue
                source = pipeline.link_story_names(doc["_source"], frozenset(lent.get(doc["_id"], ())))
                named = source is not doc["_source"]
                story_topic = topics.get(doc["_id"])
                # an earlier page is rewritten when its story's label changes, not for every shift of the score
                relabelled = bool(story_topic) and story.story_label(story_topic) != source.get("category")
                if relabelled:
                    source = pipeline.with_story_topic(source, story_topic)
                if not (named or relabelled):
                    continue
                changed = [*(name_fields if named else []), *(topic_fields if relabelled else [])]
                response = self.es.options(ignore_status=(404, 409)).update(  # 404: deleted since the read
                    index=doc["_index"], id=doc["_id"], doc={field: source[field] for field in changed},
                    if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"])
                if response.meta.status == 409:
                    retry.append(doc["_id"])
                elif response.meta.status < 300:
                    if named:
                        STORY_NAMES_LINKED.labels(STAGE).inc()
                    if relabelled and source["category"] != source.get("page_category"):
                        STORY_CATEGORY_OVERRIDES.labels(STAGE).inc()
            pending = retry
        if pending:
            log.info("story names and categories: %d earlier pages kept changing; left as they are", len(pending))

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


def story_features(source: dict) -> story.Features:
    """What the story store keeps of an index document: embedding, canonical entities, publication (else fetch)
    time, and the page's own topic distribution."""
    return story.features(source["embedding"], source["people"], source["organisations"], source["places"],
                          source.get("published_at") or source.get("fetched_at"), source.get("topic_probabilities"))


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
