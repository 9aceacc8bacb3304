"""Stories across languages: band keys of the page embedding, and the test of whether two pages tell one story.

A story is the set of tellings of one event, in any language; copies of one text (`cluster_id`,
workers/stages/dedup.py) are a special case. The runtime (workers/runtime/story_store.py) looks a page's band
keys up and joins the story of the most similar earlier page that passes `same_story`; this module is pure and
deterministic across processes and machines.

- `band_keys(embedding)`: random-hyperplane (SimHash) bits of the L2-normalised embedding, NUM_BANDS bands of
  ROWS_PER_BAND bits. Two vectors at angle θ agree on a bit with probability 1 − θ/π, so tellings (cosine ≈ 0.85
  to 0.93 with multilingual-e5-small) share a band far more often than unrelated pages. The hyperplanes are
  ±1 vectors read from blake2b digests of fixed strings, never a random generator.
- `story_keys(features)`: the band keys, and keys of pairs of the page's canonical entities (a bottom-k sketch:
  the ENTITY_PAIR_KEYS pairs with the lowest hashes, every pair of a page with up to 8 names). Tellings that
  share two or more names share a pair key however busy their band keys are.
- `remember(claimants, page_id)`: a key keeps its RECENT_CLAIMANTS most recent pages, so that a busy key
  (e5 vectors lie in a narrow cone, and unrelated pages of one day share keys) still leads to the latest tellings.
- `same_story(a, b)`: published within WINDOW_HOURS, and either cosine ≥ COSINE_ALONE, or cosine ≥
  COSINE_WITH_ENTITIES and the two share at least SHARED_ENTITIES canonical people, organisations or places
  (`canonical` names are the same across scripts; one shared "India" joined two cricket matches of one day).
  Thresholds and their measurement: docs/search.md.
- `story_topic(distributions)`: the category of a story's tellings, the mean of their own topic distributions,
  so that the same story told in Hindi and in English is filed under one category (docs/search.md).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from workers.encoder import DIMENSIONS
NUM_BANDS = 32
ROWS_PER_BAND = 10
RECENT_CLAIMANTS = 4
ENTITY_PAIR_KEYS = 28  # every pair of 8 names: the mean canonical names per page of the distractor streams
COSINE_ALONE = 0.905
COSINE_WITH_ENTITIES = 0.84
SHARED_ENTITIES = 2
WINDOW_HOURS = 72
MODEL_VERSION = (f"simhash-{NUM_BANDS}x{ROWS_PER_BAND}-recent{RECENT_CLAIMANTS}-pairs{ENTITY_PAIR_KEYS}"
                 f"-cos{COSINE_ALONE}-{COSINE_WITH_ENTITIES}x{SHARED_ENTITIES}-{WINDOW_HOURS}h-v2")


def _hyperplane(index: int) -> np.ndarray:
    digest = hashlib.blake2b(f"newswire-story-plane-{index}".encode(), digest_size=DIMENSIONS // 8).digest()
    bits = np.unpackbits(np.frombuffer(digest, dtype=np.uint8))
    return bits.astype(np.float32) * 2 - 1


_PLANES = np.stack([_hyperplane(i) for i in range(NUM_BANDS * ROWS_PER_BAND)])


@dataclass(frozen=True)
class Features:
    embedding: np.ndarray  # float32 [DIMENSIONS], L2-normalised
    entities: frozenset[str]  # canonical names of people, organisations and places
    published: float | None  # seconds since the epoch; None when the page has no date
    # The page's own topic distribution (label -> probability, the classify stage's); None for features written
    # before stories had categories, or for a page classified without one.
    topic: dict[str, float] | None = None


def band_keys(embedding: np.ndarray) -> tuple[str, ...]:
    bits = (_PLANES @ np.asarray(embedding, dtype=np.float32)) >= 0
    keys = []
    for band in range(NUM_BANDS):
        packed = np.packbits(bits[band * ROWS_PER_BAND:(band + 1) * ROWS_PER_BAND]).tobytes()
        keys.append(f"r{band:02x}{packed.hex()}")  # "r": recent-claimant keys ("s" was the one-owner layout)
    return tuple(keys)


def entity_pair_keys(entities: frozenset[str]) -> tuple[str, ...]:
    digests = sorted(hashlib.blake2b(f"{a}\x1f{b}".encode("utf-8"), digest_size=10).hexdigest()
                     for a, b in itertools.combinations(sorted(entities), 2))
    return tuple(f"e{digest}" for digest in digests[:ENTITY_PAIR_KEYS])


def story_keys(page: Features) -> tuple[str, ...]:
    """The keys a page is looked up and remembered under: its band keys, then its entity-pair keys."""
    return band_keys(page.embedding) + entity_pair_keys(page.entities)


def remember(claimants: list[str], page_id: str) -> list[str]:
    """A key's pages after `page_id` claims it: oldest first, the RECENT_CLAIMANTS most recent kept; a page
    already there (a re-delivery) changes nothing."""
    if page_id in claimants:
        return list(claimants)
    return [*claimants, page_id][-RECENT_CLAIMANTS:]


def cosine(a: Features, b: Features) -> float:
    return float(np.dot(a.embedding, b.embedding))


def same_story(a: Features, b: Features, alone: float = COSINE_ALONE, with_entities: float = COSINE_WITH_ENTITIES) -> bool:
    """The thresholds are parameters only for the eval's sweep; the runtime uses the defaults."""
    if a.published is not None and b.published is not None and abs(a.published - b.published) > WINDOW_HOURS * 3600:
        return False
    similarity = cosine(a, b)
    return similarity >= alone or (similarity >= with_entities and len(a.entities & b.entities) >= SHARED_ENTITIES)


def timestamp(value: str | None) -> float | None:
    """An ISO 8601 date or time (as `published_at`/`fetched_at` hold) -> seconds since the epoch, else None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def decide(page_id: str, page: Features, candidates: dict[str, str], known: dict[str, Features],
           **thresholds) -> tuple[str, float]:
    """The story of a page: (story id, cosine to the page it joined), or (page_id, 0.0) for a new story.

    candidates: page id -> story id of the pages its keys hold; known: page id -> its Features (pages whose
    features are missing or of another version are not comparable)."""
    if page_id in candidates:
        return candidates[page_id], 1.0  # this page claimed its keys before: a re-delivery
    best_story, best_similarity = page_id, 0.0
    for other_page, story_id in sorted(candidates.items()):
        other = known.get(other_page)
        if other is None or not same_story(page, other, **thresholds):
            continue
        similarity = cosine(page, other)
        if similarity > best_similarity:
            best_story, best_similarity = story_id, similarity
    return best_story, best_similarity


def story_topic(distributions: list[dict[str, float]]) -> dict[str, float]:
    """The topic distribution of a story: the mean of its tellings' own distributions (a label missing from one
    counts 0 there). A mean, not a product: one telling the classifier is sure of outweighs one it is unsure of,
    and no telling can veto a label with a near-zero probability. No parameter, so nothing was tuned."""
    labels = sorted({label for distribution in distributions for label in distribution})
    # fsum: exact, so the order the tellings come in (store or search) cannot change the result
    return {label: math.fsum(d.get(label, 0.0) for d in distributions) / len(distributions) for label in labels}


def story_label(topic: dict[str, float]) -> str:
    """The most probable label (the first in label order on a tie, so every replica files a page alike)."""
    return max(sorted(topic), key=topic.__getitem__)


def features(embedding, people=(), organisations=(), places=(), published: str | None = None,
             topic: dict[str, float] | None = None) -> Features:
    vector = np.asarray(embedding, dtype=np.float32)
    return Features(vector, frozenset([*people, *organisations, *places]), timestamp(published),
                    dict(topic) if topic else None)


def features_to_json(value: Features) -> dict:
    data = {"version": MODEL_VERSION, "embedding": np.round(value.embedding.astype(np.float64), 5).tolist(),
            "entities": sorted(value.entities), "published": value.published}
    if value.topic:
        data["topic"] = {label: float(p) for label, p in sorted(value.topic.items())}  # as the page's document has it
    return data


def features_from_json(data: dict) -> Features:
    if data.get("version") != MODEL_VERSION:
        raise ValueError(f"story features version {data.get('version')!r} is not {MODEL_VERSION!r}")
    vector = np.asarray(data["embedding"], dtype=np.float32)
    if vector.shape != (DIMENSIONS,):
        raise ValueError(f"story features have {vector.shape} values, expected {DIMENSIONS}")
    # "topic" is optional: features written before stories had categories have none, and stay comparable.
    return Features(vector, frozenset(data["entities"]), data["published"], data.get("topic") or None)
