"""Near-duplicate clusters and reprocessing, end to end against the real stack."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson
import pytest

from tests.conftest import SAMPLES_DIR
from workers import topics
from workers.datasets import REPO_ROOT
from workers.envelope import page_id_for
from workers.localrun import envelope
from workers.runtime.dedup_store import DedupStore
from workers.stages import classify, dedup, enrich

pytestmark = pytest.mark.stack

ORIGINAL = SAMPLES_DIR / "en-tech-chip-plant.html"
ORIGINAL_URL = "https://dailyledger.example/technology/2025/03/14/chip-plant-dresden"


def _syndicated_copy() -> str:
    """The same story as a text scrape on another site: new headline, other boilerplate, one paragraph cut."""
    from workers.stages.clean import clean

    story = clean(ORIGINAL.read_text(encoding="utf-8"), "text/html").body.split("\n\n")
    return "\n\n".join([
        "Nordwafer opens Dresden factory for AI chips",
        "Home | Business | Markets | Tech",
        "Photo: agency",
        *story[:-1],
        "Also Read",
        "Cloud prices fall again",
        "Latest Tech News",
        "© 2025 Wire Copy Network",
    ])


def _distinct_same_topic() -> str:
    return "\n\n".join([
        "Memory maker plans new factory in Portugal",
        "A South Korean memory chip maker said on Tuesday it would build a factory near Porto to make storage "
        "chips for data centres, with production due to start in three years.",
        "The company did not say how much it would invest, but officials in Lisbon said the project would create "
        "about 900 jobs and was supported by European funds for the semiconductor industry.",
        "Industry analysts said the plant would mostly serve customers in Europe, where demand for storage in "
        "data centres has grown quickly since cloud providers expanded their services.",
    ])


def test_copies_join_the_first_copys_cluster_and_are_counted_once(pipeline):
    original = ORIGINAL.read_text(encoding="utf-8")
    copy_url, distinct_url = "https://wirecopy.example/tech/nordwafer-dresden", "https://other.example/tech/porto-fab"
    copy, distinct = _syndicated_copy(), _distinct_same_topic()
    pipeline.produce(topics.RAW, None, envelope(original, ORIGINAL_URL, "text/html"))
    original_id = page_id_for(ORIGINAL_URL, original)
    pipeline.wait_for_documents([original_id])
    pipeline.produce(topics.RAW, None, envelope(copy, copy_url, "text/plain"))
    pipeline.produce(topics.RAW, None, envelope(distinct, distinct_url, "text/plain"))
    copy_id, distinct_id = page_id_for(copy_url, copy), page_id_for(distinct_url, distinct)
    documents = pipeline.wait_for_documents([original_id, copy_id, distinct_id])
    assert documents[copy_id]["cluster_id"] == original_id and documents[copy_id]["is_duplicate"] is True
    assert documents[distinct_id]["cluster_id"] == distinct_id and documents[distinct_id]["is_duplicate"] is False
    assert documents[original_id]["is_duplicate"] is False

    pipeline.produce(topics.RAW, None, envelope(copy, copy_url, "text/plain"))  # a re-delivery of the copy
    deadline = time.monotonic() + 60
    head = {}
    while time.monotonic() < deadline and head.get("duplicate_count") != 1:
        head = pipeline.es.get(index=pipeline.settings.index_alias, id=original_id)["_source"]
        time.sleep(1)
    time.sleep(5)
    head = pipeline.es.get(index=pipeline.settings.index_alias, id=original_id)["_source"]
    assert head["duplicate_count"] == 1 and head["duplicate_ids"] == [copy_id]
    assert documents[original_id]["title"] == head["title"], "counting copies keeps the first copy's document"

    # A re-delivery of the first copy rewrites its document; its copy list is rebuilt from the copies.
    before = pipeline.es.get(index=pipeline.settings.index_alias, id=original_id)["_version"]
    pipeline.produce(topics.RAW, None, envelope(original, ORIGINAL_URL, "text/html"))
    deadline = time.monotonic() + 60
    head = {}
    while time.monotonic() < deadline and not (head.get("_version", 0) > before and head["_source"]["duplicate_count"]):
        head = pipeline.es.get(index=pipeline.settings.index_alias, id=original_id)
        time.sleep(0.5)
    assert head["_source"]["duplicate_count"] == 1 and head["_source"]["duplicate_ids"] == [copy_id]


def test_a_replica_that_loses_the_band_race_joins_the_winners_cluster(pipeline):
    """Two indexer replicas decide on copies of one story at the same moment: both find no owner, both claim
    bands, and the engine lets exactly one win each band. The loser must join the winner's cluster and point the
    bands it did win there too, so that a third copy lands in the same cluster whichever band it hits."""
    alias = f"{pipeline.settings.index_alias}-race"
    story = _syndicated_copy()
    edited = story.replace("Also Read", "Nordwafer said output would start in the second half of next year.")
    first, second = (dedup.signature_to_json(dedup.signature(text, "en")) for text in (story, edited))
    winner, loser = DedupStore(pipeline.es, alias, 86400), DedupStore(pipeline.es, alias, 86400)
    real_owners, lookups = loser._owners, []

    def lookup_before_the_winner_wrote(bands, indices):  # the loser's first lookup saw no owners yet
        lookups.append(bands)
        return {} if len(lookups) == 1 else real_owners(bands, indices)

    loser._owners = lookup_before_the_winner_wrote

    assert winner.assign([("first", first)])["first"].is_duplicate is False
    decision = loser.assign([("second", second)])["second"]
    assert (decision.cluster_id, decision.is_duplicate) == ("first", True)
    own_bands = [band for band in second["bands"] if band not in first["bands"]]
    assert own_bands, "the loser won some bands of its own"
    # A third copy that shares only those bands still finds the first copy's cluster.
    third = DedupStore(pipeline.es, alias, 86400).assign([("third", {**second, "bands": own_bands})])["third"]
    assert (third.cluster_id, third.is_duplicate, third.similarity) == ("first", True, decision.similarity)


def test_reprocess_rewrites_documents_with_the_current_models(pipeline):
    ids = []
    for page in sorted(SAMPLES_DIR.glob("*.txt")):
        meta = orjson.loads(page.with_name(page.stem + ".meta.json").read_bytes())
        raw = page.read_text(encoding="utf-8")
        pipeline.produce(topics.RAW, None, envelope(raw, meta["url"] + "?reprocess", "text/plain"))
        ids.append(page_id_for(meta["url"] + "?reprocess", raw))
    pipeline.wait_for_documents(ids)
    alias = pipeline.settings.index_alias
    # Documents made by an older model: what a model upgrade leaves behind.
    for page_id in ids:
        pipeline.es.update(index=alias, id=page_id, doc={"models": {"classify": "topics-old", "enrich": "entities-old"}})
    pipeline.es.indices.refresh(index=alias)
    count_before = pipeline.count_documents()
    query = " OR ".join(f'page_id:"{page_id}"' for page_id in ids)
    result = subprocess.run([sys.executable, "-m", "workers", "reprocess", "--stages", "classify,enrich", "--query", query],
                            env=pipeline.env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert f"sent {len(ids)} pages" in result.stdout
    deadline = time.monotonic() + 120
    versions = set()
    while time.monotonic() < deadline:
        pipeline.es.indices.refresh(index=alias)
        docs = pipeline.es.mget(index=alias, ids=ids)["docs"]
        versions = {(d["_source"]["models"]["classify"], d["_source"]["models"]["enrich"]) for d in docs}
        if versions == {(classify.MODEL_VERSION, enrich.MODEL_VERSION)}:
            break
        time.sleep(1)
    assert versions == {(classify.MODEL_VERSION, enrich.MODEL_VERSION)}
    assert pipeline.count_documents() == count_before
