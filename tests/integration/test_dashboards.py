"""The shipped dashboards against the live system: every Grafana panel query returns series from the real
Prometheus scraping a running pipeline, and every field the Kibana saved objects use exists in the live mapping."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request

import orjson
import pytest

from tests.conftest import SAMPLES_DIR
from tests.deploy.dashboards import (
    grafana_queries,
    kibana_field_references,
    kibana_objects,
    mapped_fields,
    substitute_variables,
)
from workers.localrun import envelope, port_open
from workers import topics
from workers.config import STAGE_METRICS_PORTS
from workers.envelope import page_id_for
from workers.runtime.deadletter import read_dead_letter_headers

pytestmark = pytest.mark.stack

PROMETHEUS = "http://127.0.0.1:9090"
PORTS_FREE_TIMEOUT = 900  # another engineer's pipeline may hold the fixed metrics ports for a while


def prometheus_query(expression: str) -> list[dict]:
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = orjson.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.fixture(scope="module")
def live_pipeline(request):
    """The `pipeline` fixture, started only once no other run holds the workers' metrics ports."""
    deadline = time.monotonic() + PORTS_FREE_TIMEOUT
    while any(port_open(port) for port in STAGE_METRICS_PORTS.values()):
        if time.monotonic() > deadline:
            pytest.fail(f"metrics ports {sorted(STAGE_METRICS_PORTS.values())} still busy after {PORTS_FREE_TIMEOUT}s")
        time.sleep(5)
    return request.getfixturevalue("pipeline")


@pytest.fixture(scope="module")
def traffic(live_pipeline):
    """Sample pages, one record the clean stage dead-letters, one document the engine rejects; all handled."""
    pipeline = live_pipeline
    ids = []
    for page in sorted(SAMPLES_DIR.glob("*.*")):
        if page.suffix in (".html", ".txt"):
            meta = orjson.loads(page.with_name(page.stem + ".meta.json").read_bytes())
            raw = page.read_text(encoding="utf-8")
            pipeline.produce(topics.RAW, None, envelope(raw, meta["url"], "text/html" if page.suffix == ".html" else "text/plain"))
            ids.append(page_id_for(meta["url"], raw))
            # The same page under another address: a syndicated copy, so the duplicates panel has data.
            copy_url = meta["url"].replace(".example/", ".example/syndicated/")
            pipeline.produce(topics.RAW, None, envelope(raw, copy_url, "text/html" if page.suffix == ".html" else "text/plain"))
            ids.append(page_id_for(copy_url, raw))
    pipeline.produce(topics.RAW, b"dashboards-bad-envelope", b'{"v": 99, "raw": "x"}')
    documents = pipeline.wait_for_documents(ids)

    # An enriched page whose date the strict mapping refuses: a bulk item error (400) and an index dead letter.
    enriched = orjson.loads(pipeline.read_topic(topics.ENRICHED, 1)[0].value())
    enriched["page_id"] = "dashboards-rejected-" + enriched["page_id"][:16]
    enriched["clean"]["published_at"] = "not a date"
    pipeline.produce(topics.ENRICHED, b"dashboards-rejected", orjson.dumps(enriched))
    reasons = set()
    deadline = time.monotonic() + 120
    while {"unknown_version", "index_rejected"} - reasons and time.monotonic() < deadline:
        reasons = {read_dead_letter_headers(m.headers()).get("reason") for m in pipeline.read_topic(topics.DEAD_LETTER, 2, timeout=10)}
    assert {"unknown_version", "index_rejected"} <= reasons
    return documents


@pytest.mark.parametrize("title, expression", grafana_queries(), ids=[f"{i}-{t}" for i, (t, _) in enumerate(grafana_queries())])
def test_grafana_panel_query_returns_series(traffic, title, expression):
    query = substitute_variables(expression)
    deadline = time.monotonic() + 90  # scrapes every 2 s; lag is measured every 5 s
    while not (series := prometheus_query(query)) and time.monotonic() < deadline:
        time.sleep(2)
    assert series, f"panel {title!r}: no series for {query}"


def test_kibana_fields_exist_in_the_live_mapping(traffic, live_pipeline):
    alias = live_pipeline.settings.index_alias
    mappings = live_pipeline.es.indices.get_mapping(index=alias).body
    (index_mapping,) = mappings.values()
    live_fields = mapped_fields(index_mapping["mappings"]["properties"])
    assert kibana_field_references(kibana_objects()) - set(live_fields) == set()


def test_kibana_panels_aggregate_on_live_documents(traffic, live_pipeline):
    """The aggregations behind the Kibana panels return buckets: the fields facet as Kibana needs them."""
    response = live_pipeline.es.search(index=live_pipeline.settings.index_alias, size=0, aggs={
        "over_time": {"date_histogram": {"field": "published_at", "calendar_interval": "day"}},
        **{field: {"terms": {"field": field, "size": 10}} for field in ("category", "lang", "people", "organisations", "places")},
    })
    aggregations = response["aggregations"]
    for name in ("category", "lang", "people", "places"):
        assert aggregations[name]["buckets"], name
    assert {bucket["key"] for bucket in aggregations["lang"]["buckets"]} >= {"hi", "en"}
    assert sum(bucket["doc_count"] for bucket in aggregations["over_time"]["buckets"]) > 0


def test_kibana_story_panel_aggregates_on_live_documents(traffic, live_pipeline):
    """The stories panel's aggregation: pages grouped by story_id, each with its languages. The traffic indexes
    every sample page twice (a syndicated copy), so a story holds at least the page and its copy."""
    response = live_pipeline.es.search(index=live_pipeline.settings.index_alias, size=0, aggs={
        "stories": {"terms": {"field": "story_id", "size": 15}, "aggs": {"lang": {"terms": {"field": "lang", "size": 10}}}}})
    stories = response["aggregations"]["stories"]["buckets"]
    assert stories and max(story["doc_count"] for story in stories) >= 2
    assert all(story["lang"]["buckets"] for story in stories)
    # A story is named after its first page, and a page and its copy are never two stories.
    assert {document["story_id"] for document in traffic.values()} <= set(traffic)
    assert len({document["story_id"] for document in traffic.values()}) <= len(traffic) // 2
