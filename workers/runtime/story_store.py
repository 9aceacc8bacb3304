"""Stories across languages kept in the search engine, correct with any number of indexer replicas.

The copy-cluster store's scheme (dedup_store.py) on the page embedding's band keys (workers/stages/story.py):
every page claims the band keys nobody owns yet, one tiny document per key (`{story_id, page_id}`) written with
`op_type=create`, so exactly one page across all replicas owns a key; its features (embedding, canonical
entities, date) are written once, as `feat-<page id>`, ahead of its keys in the same bulk request. A later page
looks its keys up with a realtime multi-get (no refresh wait), fetches the owners' features, and joins the story
of the most similar owner that passes `story.same_story`; otherwise it starts a story of its own (story_id = its
page id). A page that joined a story claims its free keys for that story too, so a later telling finds the
story through any of its pages.

A new story whose claim lost a key to another replica (409) is decided again against the winners; when it
joins their story, the keys it did win (and the pages of this batch that had joined it) move to that story.

Generations: `<alias>-stories-<n>`, n = time // window (story.WINDOW_HOURS); a story is found for one to two
windows, and `same_story` refuses pages published more than WINDOW_HOURS apart anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from workers.runtime.dedup_store import GenerationStore, _now, _raise_write_failure
from workers.stages import story

log = logging.getLogger(__name__)

STORY_MAPPINGS = {"dynamic": "strict", "properties": {
    "story_id": {"type": "keyword"}, "page_id": {"type": "keyword"},
    "features": {"type": "object", "enabled": False}, "first_seen": {"type": "date"}}}


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


def _decision(page_id: str, story_id: str, similarity: float, keys, owners: dict[str, dict],
              known: dict[str, story.Features], is_new: bool = False) -> StoryDecision:
    pages = sorted({owner["page_id"] for key in keys if (owner := owners.get(key)) and owner["story_id"] == story_id}
                   - {page_id})
    compared = tuple(page for page in pages if page in known)
    names = frozenset().union(*(known[page].entities for page in compared))
    topics = {page: known[page].topic for page in compared if known[page].topic}
    return StoryDecision(story_id, is_new, similarity, names, compared, topics)


class StoryStore(GenerationStore):
    SUFFIX = "stories"
    MAPPINGS = STORY_MAPPINGS

    def __init__(self, client, alias: str, replicas: int = 0):
        super().__init__(client, alias, story.WINDOW_HOURS * 3600, replicas)

    def _lookup(self, keys: set[str], indices: tuple[str, str]) -> tuple[dict[str, dict], dict[str, story.Features]]:
        """(band key -> {story_id, page_id} of its owner, owner page id -> its features where readable)."""
        if not keys:
            return {}, {}
        owners = {key: {"story_id": doc["story_id"], "page_id": doc["page_id"]}
                  for key, doc in self._found(sorted(keys), indices).items()}
        pages = sorted({owner["page_id"] for owner in owners.values()})
        known = {}
        for doc in self._found([_features_id(page) for page in pages], indices).values() if pages else ():
            try:
                known[doc["page_id"]] = story.features_from_json(doc["features"])
            except ValueError:  # made by another story version: not comparable
                continue
        return owners, known

    def assign(self, items: list[tuple[str, story.Features]]) -> dict[str, StoryDecision]:
        """items: (page_id, features) in arrival order -> the story of each page."""
        indices = self._indices()
        features = dict(items)
        keys = {page_id: story.band_keys(value.embedding) for page_id, value in items}
        owners, known = self._lookup({key for page_keys in keys.values() for key in page_keys}, indices)
        decisions: dict[str, StoryDecision] = {}
        claims: dict[str, str] = {}  # band key -> the page of this batch claiming it
        for page_id, value in items:
            story_id, similarity = story.decide(page_id, value, keys[page_id], owners, known)
            decisions[page_id] = _decision(page_id, story_id, similarity, keys[page_id], owners, known,
                                           is_new=story_id == page_id and similarity == 0.0)
            known[page_id] = value  # later pages of this batch compare with it
            for key in keys[page_id]:
                if key not in owners:
                    owners[key] = {"story_id": story_id, "page_id": page_id}
                    claims[key] = page_id
        lost = self._claim(claims, decisions, features, indices[0])
        if lost:
            self._recheck(lost, claims, decisions, features, keys, indices)
        return decisions

    def _recheck(self, lost: set[str], claims, decisions, features, keys, indices) -> None:
        """Another replica claimed some keys first: new stories among the losers are decided against the winners."""
        winners, known = self._lookup(lost, indices)
        moved = {}
        for page_id in sorted({claims[key] for key in lost}):
            if not decisions[page_id].is_new:
                continue
            story_id, similarity = story.decide(page_id, features[page_id], keys[page_id], winners, known)
            if story_id != page_id:
                moved[page_id] = story_id
                decisions[page_id] = _decision(page_id, story_id, similarity, keys[page_id], winners, known)
        if not moved:
            return
        changed = set(moved)
        for page_id, decision in list(decisions.items()):
            if decision.story_id in moved and page_id not in moved:  # joined a story of this batch that moved
                decisions[page_id] = StoryDecision(moved[decision.story_id], False, decision.similarity, decision.names,
                                                   decision.pages, decision.topics)
                changed.add(page_id)
        repoint = []
        for key, page_id in claims.items():
            if key not in lost and page_id in changed:
                repoint.append({"index": {"_index": indices[0], "_id": key}})
                repoint.append({"story_id": decisions[page_id].story_id, "page_id": page_id, "first_seen": _now()})
        if repoint:
            self.es.bulk(operations=repoint)

    def _claim(self, claims: dict[str, str], decisions, features, index: str) -> set[str]:
        """Write the claiming pages' features, then create their band documents; returns the keys another
        writer won (409)."""
        if not claims:
            return set()
        now = _now()
        pages = sorted(set(claims.values()))
        operations = []
        for page_id in pages:  # first: a key must never point to missing features
            operations.append({"index": {"_index": index, "_id": _features_id(page_id)}})
            operations.append({"story_id": decisions[page_id].story_id, "page_id": page_id,
                               "features": story.features_to_json(features[page_id]), "first_seen": now})
        for key, page_id in claims.items():
            operations.append({"create": {"_index": index, "_id": key}})
            operations.append({"story_id": decisions[page_id].story_id, "page_id": page_id, "first_seen": now})
        response = self.es.bulk(operations=operations)
        for item in response["items"][: len(pages)]:
            if item["index"].get("status", 500) >= 300:
                _raise_write_failure("story features write", item["index"])
        lost = set()
        for key, item in zip(claims, response["items"][len(pages):], strict=True):
            status = item["create"].get("status", 500)
            if status == 409:
                lost.add(key)
            elif status >= 300:
                _raise_write_failure("story band write", item["create"])
        return lost
