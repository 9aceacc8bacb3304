"""Stories across languages against the real engine: tellings indexed through the indexer's own path get one
story_id, a distinct story of the same topic on the same day does not, and replicas racing agree."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import orjson
import pytest

from workers import pipeline
from workers.config import load_settings
from workers.runtime.indexer import Indexer, story_features
from workers.runtime.metrics import STORIES, STORY_CATEGORY_OVERRIDES, STORY_NAMES_LINKED
from workers.runtime.outage import EngineUnavailable, request_condition
from workers.runtime.search import ensure_index
from workers.runtime.story_store import StoryStore
from workers.stages import story
from workers.types import Page

pytestmark = pytest.mark.stack

STORIES_SET = Path(__file__).resolve().parent.parent / "fixtures" / "stories.jsonl"
ROWS = {row["id"]: row for row in map(json.loads, STORIES_SET.read_text().splitlines())}
STORY_PAIRS = Path(__file__).resolve().parent.parent / "fixtures" / "story_pairs.jsonl"
PAIRS = {row["id"]: row for row in map(json.loads, STORY_PAIRS.read_text().splitlines())}


class _Message:
    """What the indexer reads of a consumed Kafka record."""

    def __init__(self, value: bytes, offset: int):
        self._value, self._offset = value, offset

    def value(self):
        return self._value

    def topic(self):
        return "enriched"

    def partition(self):
        return 0

    def offset(self):
        return self._offset

    def error(self):
        return None


def _enriched(row: dict) -> dict:
    """The enriched-topic document of a story row, made by the pipeline's own stages."""
    page = Page(page_id=row["id"], url=f"https://news.example/{row['id']}", source="test",
                fetched_at=row["published"], content_type="text/plain", raw=f"{row['title']}\n\n{row['text']}")
    return pipeline.fingerprint_doc(pipeline.enrich_doc(pipeline.classify_doc(pipeline.clean_page(page))))


def _indexer():
    settings = load_settings({"NEWSWIRE_INDEX_ALIAS": f"test-{uuid.uuid4().hex[:8]}-stories"})
    indexer = Indexer(settings)
    indexer.es.cluster.health(wait_for_status="yellow", timeout="10s")
    ensure_index(indexer.es, indexer.alias)
    yield indexer
    indexer.es.indices.delete(index=f"{indexer.alias}-*", ignore_unavailable=True)
    indexer.es.options(ignore_status=404).indices.delete_index_template(name=f"{indexer.alias}-template")
    indexer.producer.flush(5)


@pytest.fixture(scope="module")
def indexer():
    yield from _indexer()


@pytest.fixture
def own_indexer():
    """A story store of its own, for a test whose tellings would otherwise join another test's story."""
    yield from _indexer()

GAS_TALKS_EN = {
    "published": "2026-11-24T09:00:00Z",
    "title": "Serbian minister Zoran Mladenovic says Belgrade gas talks will continue",
    "text": "Serbia's energy minister Zoran Mladenovic said on Tuesday in Belgrade that talks with the European Union "
            "on gas supplies would continue next week. Mladenovic said a deal could be signed before winter."}
GAS_TALKS_HI = {
    "published": "2026-11-24T11:30:00Z",
    "title": "सर्बियाई मंत्री ज़ोरान म्लादेनोविच ने कहा, बेलग्रेड में गैस वार्ता जारी रहेगी",
    "text": "सर्बिया के ऊर्जा मंत्री ज़ोरान म्लादेनोविच ने मंगलवार को बेलग्रेड में कहा कि गैस आपूर्ति पर यूरोपीय संघ के साथ "
            "बातचीत अगले सप्ताह जारी रहेगी। म्लादेनोविच ने कहा कि सर्दियों से पहले समझौता हो सकता है।"}


def _story_ids(indexer, ids: list[str]) -> dict[str, str]:
    docs = indexer.es.mget(index=indexer.alias, ids=ids, source_includes=["story_id"])["docs"]
    return {doc["_id"]: doc["_source"]["story_id"] for doc in docs}


def test_tellings_share_a_story_and_a_same_topic_story_does_not(indexer):
    before = STORIES.labels("index", "en")._value.get()
    # Two batches, as two polls: the Hindi telling must find the English one through the engine, not in memory.
    indexer.index_batch([_Message(orjson.dumps(_enriched(ROWS["quake-nepal-en"])), 0),
                         _Message(orjson.dumps(_enriched(ROWS["quake-turkey-en"])), 1)])
    indexer.index_batch([_Message(orjson.dumps(_enriched(ROWS["quake-nepal-hi"])), 2)])
    stories = _story_ids(indexer, ["quake-nepal-en", "quake-nepal-hi", "quake-turkey-en"])
    assert stories["quake-nepal-hi"] == stories["quake-nepal-en"] == "quake-nepal-en"
    assert stories["quake-turkey-en"] == "quake-turkey-en"
    assert STORIES.labels("index", "en")._value.get() == before + 2  # the Hindi page started no story
    # A re-delivery of the whole first batch keeps the story and counts no new one.
    indexer.index_batch([_Message(orjson.dumps(_enriched(ROWS["quake-nepal-en"])), 0)])
    assert _story_ids(indexer, ["quake-nepal-en"])["quake-nepal-en"] == "quake-nepal-en"
    assert STORIES.labels("index", "en")._value.get() == before + 2


def test_a_replica_that_loses_the_band_race_joins_the_winners_story(indexer):
    """Two replicas decide on two tellings at the same moment: both read the keys before either wrote, both
    start a story. The engine refuses the second writer's keys that the first changed in between, both the keys
    that existed (a stale seq_no) and those that did not (create). The loser must read them again and join the
    winner's story, and a later telling that hits only the loser's own keys must find that story too."""
    alias = f"{indexer.alias}-race"
    english, hindi = (story_features(pipeline.index_document(_enriched(ROWS[name])))
                      for name in ("flood-assam-en", "flood-assam-hi"))
    # A page ten days older (the same-story test refuses it), between the two tellings in the embedding, already
    # holds the keys they share but one: the loser writes those on their versions, and creates that one.
    between = (hindi.embedding + english.embedding) / np.linalg.norm(hindi.embedding + english.embedding)
    older = story.Features(between.astype(np.float32), frozenset(), hindi.published - 10 * 86_400)
    winner, loser = StoryStore(indexer.es, alias), StoryStore(indexer.es, alias)
    assert winner.assign([("older", older)])["older"].is_new
    shared = sorted(set(story.band_keys(hindi.embedding)) & set(story.band_keys(english.embedding)))
    assert len(shared) >= 2 and set(shared) <= set(story.band_keys(older.embedding))
    indexer.es.delete(index=winner._indices()[0], id=shared[0])  # so that one shared key is new to both
    real_read, reads = loser._read_keys, []
    before_the_winner = real_read(sorted(set(story.band_keys(hindi.embedding))), loser._indices())
    assert shared[0] not in before_the_winner.versions and shared[1] in before_the_winner.versions

    def read_before_the_winner_wrote(keys, indices):
        reads.append(keys)
        return before_the_winner if len(reads) == 1 else real_read(keys, indices)

    real_write, refused = loser._write, []

    def write(*args):
        refused.append(real_write(*args))
        return refused[-1]

    loser._read_keys, loser._write = read_before_the_winner_wrote, write
    assert winner.assign([("en", english)])["en"].is_new
    decision = loser.assign([("hi", hindi)])["hi"]
    assert (decision.story_id, decision.is_new) == ("en", False)
    assert {shared[0], shared[1]} <= refused[0] and refused[-1] == set(), "both kinds refused, then written"
    assert len(reads) == 2, "the refused keys were read again"
    current = loser._indices()[0]
    assert indexer.es.get(index=current, id="feat-hi", realtime=True)["_source"]["story_id"] == "en"
    keys = {key: indexer.es.get(index=current, id=key, realtime=True)["_source"]["pages"]
            for key in story.band_keys(hindi.embedding)}
    assert all(pages[-1] == "hi" and len(pages) <= story.RECENT_CLAIMANTS for pages in keys.values())
    own_keys = set(keys) - set(story.band_keys(english.embedding))
    assert own_keys and all("en" not in keys[key] for key in own_keys)
    # A third telling seen only through the loser's own keys: its only candidates are "hi" (and the older page).
    third = story.Features(hindi.embedding, hindi.entities, hindi.published + 3600)
    candidates = {page: "en" if page == "hi" else page for key in own_keys for page in keys[key]}
    assert story.decide("third", third, candidates, {"hi": hindi, "older": older})[0] == "en"
    assert StoryStore(indexer.es, alias).assign([("third", third)])["third"].story_id == "en"


def test_keys_that_keep_changing_pause_the_indexer_instead_of_failing_the_batch(indexer):
    """A writer that never sees the current version (here: every read returns the state before another writer's
    page) is refused in every round; after MAX_ROUNDS the store raises an outage the indexer waits out."""
    alias = f"{indexer.alias}-contended"
    first = story_features(pipeline.index_document(_enriched(ROWS["quake-turkey-en"])))
    other = story.Features(first.embedding, frozenset(), first.published + 10 * 86_400)
    store = StoryStore(indexer.es, alias)
    stale = store._read_keys(sorted(set(story.band_keys(first.embedding))), store._indices())
    StoryStore(indexer.es, alias).assign([("first", first)])
    store._read_keys = lambda keys, indices: stale
    with pytest.raises(EngineUnavailable) as raised:
        store.assign([("other", other)])
    assert raised.value.reason == "contended" and request_condition(raised.value) is raised.value


def test_a_band_key_lists_its_most_recent_pages_and_a_redelivery_keeps_its_story(indexer):
    alias = f"{indexer.alias}-recent"
    store = StoryStore(indexer.es, alias)
    base = story_features(pipeline.index_document(_enriched(ROWS["quake-nepal-en"])))
    # Six pages with one embedding, four days apart: beyond the 72 h window, so each is its own story.
    pages = [(f"p{day}", story.Features(base.embedding, frozenset(), base.published + day * 4 * 86_400))
             for day in range(6)]
    decisions = {}
    for page_id, value in pages:  # one batch each, as separate polls
        decisions.update(store.assign([(page_id, value)]))
    assert all(decisions[page_id].is_new for page_id, _ in pages)
    current = store._indices()[0]
    key = story.band_keys(base.embedding)[0]
    assert indexer.es.get(index=current, id=key, realtime=True)["_source"]["pages"] == ["p2", "p3", "p4", "p5"]
    # p0 is no longer listed by any key; its features still say which story it started.
    again = store.assign([pages[0]])["p0"]
    assert (again.story_id, again.is_new) == ("p0", False)


def test_a_hindi_telling_takes_the_english_tellings_spelling_of_a_name_no_table_knows(indexer):
    """The Hindi page can only transliterate the minister's name ("Zoran Mladenovich"); once it joins the story of
    the English telling, its people facet and mentions carry the English spelling, as Kibana groups by it."""
    hindi_doc = _enriched({"id": "gas-talks-hi", **GAS_TALKS_HI})
    alone = [e for e in hindi_doc["entities"] if e["type"] == "PER"]
    assert {e["canonical"] for e in alone} == {"Zoran Mladenovich"} and alone[0]["transliterated"]
    indexer.index_batch([_Message(orjson.dumps(_enriched({"id": "gas-talks-en", **GAS_TALKS_EN})), 10)])
    indexer.index_batch([_Message(orjson.dumps(hindi_doc), 11)])
    source = indexer.es.get(index=indexer.alias, id="gas-talks-hi", realtime=True)["_source"]
    assert source["story_id"] == "gas-talks-en"
    assert source["people"] == ["Zoran Mladenovic"]
    assert {e["canonical"] for e in source["entities"] if e["type"] == "PER"} == {"Zoran Mladenovic"}


def test_a_hindi_telling_indexed_first_takes_the_spelling_of_the_english_telling_that_joins_it(own_indexer):
    """The other order: the Hindi page starts the story with its transliteration; when the English telling
    joins, the Hindi page is updated in place to the English spelling, and a re-delivery of the English page
    changes nothing more."""
    linked_before = STORY_NAMES_LINKED.labels("index")._value.get()
    own_indexer.index_batch([_Message(orjson.dumps(_enriched({"id": "gas-talks-hi", **GAS_TALKS_HI})), 20)])
    first = own_indexer.es.get(index=own_indexer.alias, id="gas-talks-hi", realtime=True)["_source"]
    assert first["people"] == ["Zoran Mladenovich"]
    english = orjson.dumps(_enriched({"id": "gas-talks-en", **GAS_TALKS_EN}))
    own_indexer.index_batch([_Message(english, 21)])
    source = own_indexer.es.get(index=own_indexer.alias, id="gas-talks-hi", realtime=True)["_source"]
    assert source["story_id"] == "gas-talks-hi"
    assert source["people"] == ["Zoran Mladenovic"]
    people = [e for e in source["entities"] if e["type"] == "PER"]
    assert {e["canonical"] for e in people} == {"Zoran Mladenovic"} and not any(e["transliterated"] for e in people)
    assert source["title"] == first["title"] and source["body"] == first["body"]  # a partial update
    assert STORY_NAMES_LINKED.labels("index")._value.get() == linked_before + 1
    own_indexer.index_batch([_Message(english, 21)])
    assert STORY_NAMES_LINKED.labels("index")._value.get() == linked_before + 1


def _categories(indexer, ids: list[str]) -> dict[str, tuple]:
    docs = indexer.es.mget(index=indexer.alias, ids=ids, realtime=True,
                           source_includes=["story_id", "category", "category_score", "page_category"])["docs"]
    return {doc["_id"]: tuple(doc["_source"][field] for field in ("story_id", "category", "category_score", "page_category"))
            for doc in docs}


def test_tellings_of_one_story_are_filed_under_one_category_whichever_comes_first(own_indexer):
    """The Hindi telling of the UN climate talks is `politics` to the classifier alone (its known miss,
    tests/unit/test_classify.py); the English telling is `world`. Indexed Hindi first, the Hindi page is updated in
    place when the English one joins its story; a re-delivery of the Hindi page (a reprocessing) finds the
    English page by story_id and keeps the story's category."""
    overrides = STORY_CATEGORY_OVERRIDES.labels("index")._value.get()
    hindi = _enriched({**PAIRS["climate-talks-hi"], "published": "2026-11-24T10:00:00Z"})
    english = _enriched({**PAIRS["climate-talks-en"], "published": "2026-11-24T09:00:00Z"})
    assert (hindi["topic"]["label"], english["topic"]["label"]) == ("politics", "world")
    own_indexer.index_batch([_Message(orjson.dumps(hindi), 40)])
    first = _categories(own_indexer, ["climate-talks-hi"])["climate-talks-hi"]
    assert first[1] == first[3] == "politics"
    own_indexer.index_batch([_Message(orjson.dumps(english), 41)])
    both = _categories(own_indexer, ["climate-talks-hi", "climate-talks-en"])
    assert both["climate-talks-hi"][0] == both["climate-talks-en"][0] == "climate-talks-hi"
    assert both["climate-talks-hi"][1] == both["climate-talks-en"][1] == "world"
    assert both["climate-talks-hi"][2] == both["climate-talks-en"][2]  # one story, one distribution
    assert (both["climate-talks-hi"][3], both["climate-talks-en"][3]) == ("politics", "world")  # their own
    assert STORY_CATEGORY_OVERRIDES.labels("index")._value.get() == overrides + 1
    own_indexer.es.indices.refresh(index=own_indexer.alias)
    own_indexer.index_batch([_Message(orjson.dumps(hindi), 40)])
    assert _categories(own_indexer, ["climate-talks-hi"])["climate-talks-hi"] == both["climate-talks-hi"]
