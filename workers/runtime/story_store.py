"""Stories across languages kept in the search engine, correct with any number of indexer replicas.

Two kinds of small documents in generation indices (dedup_store.py's scheme), on a page's story keys (the
embedding's band keys and its entity-pair keys, workers/stages/story.py):

- `feat-<page id>`: the page's story and its features (embedding, canonical entities, date, topic), written
  once when the page is first indexed (rewritten only if a conflict moves it to another story, below).
- one document per key, `{pages}`: the key's RECENT_CLAIMANTS most recent pages, oldest first. Every page
  writes itself into each of its keys, so a key shared by many unrelated pages of a busy day still leads to
  the latest tellings (a key its first claimant owned for good hid every later one: docs/search.md).

A page looks its keys up with a realtime multi-get (no refresh wait) in the current and previous generation,
fetches the features of the pages they list, and joins the story of the most similar one that passes
`story.same_story`; otherwise it starts a story of its own (story_id = its page id). Features are written ahead
of the keys in the same bulk request (one shard), so a key never lists a page whose features are missing.

Replicas agree through conditional writes: a key document is rewritten with `if_seq_no`/`if_primary_term` of
the version the decision read (`op_type=create` where there was none), so a key another replica changed in
between is refused (409). The refused keys are read again and the batch is decided again in arrival order: a
page that started a story is decided afresh against what the winners wrote (pages that joined it follow it),
a page that joined a story keeps it, and the keys are written again on their new versions, up to MAX_ROUNDS
(then the indexer pauses and retries, reason `contended`).
A page that moves to another story rewrites its `feat-` document; keys hold page ids only, so nothing else
repoints.

Generations: `<alias>-stories-<n>`, n = time // window (story.WINDOW_HOURS); a story is found for one to two
windows, and `same_story` refuses pages published more than WINDOW_HOURS apart anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from workers.runtime.dedup_store import GenerationStore, _now, _raise_write_failure
from workers.runtime.outage import EngineUnavailable
from workers.stages import story

log = logging.getLogger(__name__)

STORY_MAPPINGS = {"dynamic": "strict", "properties": {
    "story_id": {"type": "keyword"}, "page_id": {"type": "keyword"}, "pages": {"type": "keyword"},
    "features": {"type": "object", "enabled": False}, "first_seen": {"type": "date"}}}
MAX_ROUNDS = 8  # conditional-write rounds before the indexer pauses and retries the batch's stories


def _features_id(page_id: str) -> str:
    return f"feat-{page_id}"


@dataclass(frozen=True)
class StoryDecision:
    story_id: str
    is_new: bool  # the page started this story (a re-delivered first page is not new again)
    similarity: float
    # Canonical entity names of the story's pages this page was compared with (none for a new story): the
    # indexer links transliterated names to them (workers/stages/enrich/canonical.py, story_counterparts).
    names: frozenset[str] = frozenset()
    # Those pages: the indexer links their transliterated names to this page's names in turn.
    pages: tuple[str, ...] = ()
    # Their own topic distributions, where their features carry one (page id -> label -> probability): the story's
    # category is the mean of these and this page's (story.story_topic).
    topics: dict[str, dict[str, float]] = field(default_factory=dict)


def _decision(page_id: str, story_id: str, similarity: float, candidates: dict[str, str],
              known: dict[str, story.Features], is_new: bool) -> StoryDecision:
    compared = tuple(sorted(page for page, other_story in candidates.items()
                            if other_story == story_id and page != page_id and page in known))
    names = frozenset().union(*(known[page].entities for page in compared))
    topics = {page: known[page].topic for page in compared if known[page].topic}
    return StoryDecision(story_id, is_new, similarity, names, compared, topics)


@dataclass
class _Keys:
    """What the store holds for a batch's keys: the previous generation's pages (read only), the current
    generation's pages and the version (seq_no, primary_term) a conditional write must match."""
    previous: dict[str, list[str]] = field(default_factory=dict)
    current: dict[str, list[str]] = field(default_factory=dict)
    versions: dict[str, tuple[int, int]] = field(default_factory=dict)


class StoryStore(GenerationStore):
    SUFFIX = "stories"
    MAPPINGS = STORY_MAPPINGS

    def __init__(self, client, alias: str, replicas: int = 0):
        super().__init__(client, alias, story.WINDOW_HOURS * 3600, replicas)

    def _rotate(self, generation: int) -> None:
        super()._rotate(generation)
        # A generation made before key documents listed their pages gains the field (mappings are strict).
        self.es.indices.put_mapping(index=f"{self.prefix}{generation}", properties={"pages": {"type": "keyword"}})

    def _read_keys(self, keys: list[str], indices: tuple[str, ...]) -> _Keys:
        state = _Keys()
        if not keys:
            return state
        response = self.es.mget(docs=[{"_index": index, "_id": key} for index in indices for key in keys], realtime=True)
        for doc in response["docs"]:
            if not doc.get("found"):
                continue
            pages = list(doc["_source"].get("pages") or ())
            if doc["_index"] == indices[0]:
                state.current[doc["_id"]] = pages
                state.versions[doc["_id"]] = (doc["_seq_no"], doc["_primary_term"])
            else:
                state.previous[doc["_id"]] = pages
        return state

    def _read_features(self, pages: set[str], indices: tuple[str, str], story_of: dict[str, str],
                       known: dict[str, story.Features]) -> None:
        """Adds the stories and readable features of `pages` (features of another story version are not comparable)."""
        if not pages:
            return
        for doc in self._found([_features_id(page) for page in sorted(pages)], indices).values():
            story_of[doc["page_id"]] = doc["story_id"]
            try:
                known[doc["page_id"]] = story.features_from_json(doc["features"])
            except ValueError:
                continue

    def assign(self, items: list[tuple[str, story.Features]]) -> dict[str, StoryDecision]:
        """items: (page_id, features) in arrival order -> the story of each page."""
        indices = self._indices()
        batch = [page_id for page_id, _ in items]
        features = dict(items)
        keys = {page_id: story.story_keys(value) for page_id, value in items}
        state = self._read_keys(sorted({key for page_keys in keys.values() for key in page_keys}), indices)
        story_of: dict[str, str] = {}
        known: dict[str, story.Features] = {}
        listed = {page for pages in (*state.previous.values(), *state.current.values()) for page in pages}
        self._read_features(listed | set(batch), indices, story_of, known)
        # Re-deliveries keep their story; a page whose features are of another story version is decided again.
        stored = {page_id: story_of[page_id] for page_id in batch if page_id in known}
        decisions, pending = self._decide_batch(items, keys, state, stored, story_of, known, {})
        rewrite = [page_id for page_id in batch if page_id not in stored]
        for _ in range(MAX_ROUNDS):
            lost = self._write({page_id: (decisions[page_id].story_id, features[page_id]) for page_id in rewrite},
                               {key: pages for key, pages in pending.items() if pages != state.current.get(key)},
                               state, indices[0])
            if not lost:
                return decisions
            # Another replica changed these keys since they were read: read them again, decide again.
            fresh = self._read_keys(sorted(lost), indices[:1])
            for key in lost:
                state.current[key] = fresh.current.get(key, [])
                state.versions.pop(key, None)
                if key in fresh.versions:
                    state.versions[key] = fresh.versions[key]
            self._read_features({page for key in lost for page in state.current[key]} - set(batch), indices,
                                story_of, known)
            before = decisions
            decisions, pending = self._decide_batch(items, keys, state, stored, story_of, known, before)
            rewrite = [page_id for page_id in batch
                       if page_id not in stored and decisions[page_id].story_id != before[page_id].story_id]
        # Not a bug and not data to drop: the indexer pauses and calls assign again (re-deliveries are recognised).
        raise EngineUnavailable("contended", f"{len(lost)} story key(s) changed by other writers in each of "
                                             f"{MAX_ROUNDS} rounds")

    @staticmethod
    def _decide_batch(items, keys, state: _Keys, stored: dict[str, str], story_of: dict[str, str],
                      known: dict[str, story.Features], before: dict[str, StoryDecision]):
        """Decide the batch's pages in arrival order against what `state` holds and the earlier pages of the
        batch -> (decisions, key -> its pages after the batch). `before`: the previous round's decisions;
        a page that joined a story keeps it (following a story of the batch that moved)."""
        decisions: dict[str, StoryDecision] = {}
        pending: dict[str, list[str]] = {}
        moved: dict[str, str] = {}
        later = {page_id for page_id, _ in items}
        for page_id, value in items:
            later.discard(page_id)
            listed = [page for key in keys[page_id]
                      for page in (*state.previous.get(key, ()), *pending.get(key, state.current.get(key, ())))]
            candidates = {page: story_of[page] for page in listed if page in story_of and page not in later}
            candidates.pop(page_id, None)
            if page_id in stored:
                candidates[page_id] = stored[page_id]
            prior = before.get(page_id)
            if prior is not None and not prior.is_new:
                story_id, similarity = moved.get(prior.story_id, prior.story_id), prior.similarity
            else:
                story_id, similarity = story.decide(page_id, value, candidates, known)
                if prior is not None and story_id != prior.story_id:
                    moved[page_id] = story_id
            is_new = story_id == page_id and similarity == 0.0
            decisions[page_id] = _decision(page_id, story_id, similarity, candidates, known, is_new)
            story_of[page_id], known[page_id] = story_id, value
            for key in keys[page_id]:
                pending[key] = story.remember(pending.get(key, state.current.get(key, [])), page_id)
        return decisions, pending

    def _write(self, features: dict[str, tuple[str, story.Features]], keys: dict[str, list[str]], state: _Keys,
               index: str) -> set[str]:
        """Write the pages' features, then their keys on the versions read; returns the keys another
        writer changed first (409). The keys written take their new versions in `state`."""
        if not features and not keys:
            return set()
        now = _now()
        operations = []
        for page_id, (story_id, value) in features.items():  # first: a key must never list missing features
            operations.append({"index": {"_index": index, "_id": _features_id(page_id)}})
            operations.append({"story_id": story_id, "page_id": page_id,
                               "features": story.features_to_json(value), "first_seen": now})
        for key in keys:
            if key in state.versions:
                seq_no, primary_term = state.versions[key]
                operations.append({"index": {"_index": index, "_id": key, "if_seq_no": seq_no,
                                             "if_primary_term": primary_term}})
            else:
                operations.append({"create": {"_index": index, "_id": key}})
            operations.append({"pages": keys[key], "first_seen": now})
        response = self.es.bulk(operations=operations)
        for item in response["items"][: len(features)]:
            if item["index"].get("status", 500) >= 300:
                _raise_write_failure("story features write", item["index"])
        lost = set()
        for key, item in zip(keys, response["items"][len(features):], strict=True):
            outcome = next(iter(item.values()))
            status = outcome.get("status", 500)
            if status == 409:
                lost.add(key)
            elif status >= 300:
                _raise_write_failure("story band write", outcome)
            else:
                state.current[key] = keys[key]
                state.versions[key] = (outcome["_seq_no"], outcome["_primary_term"])
        return lost
