"""The whole path against the real local stack: raw page -> Kafka -> every stage -> Elasticsearch, metrics in Prometheus."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import orjson
import pytest

from tests.conftest import SAMPLES_DIR
from workers.localrun import envelope
from workers import topics
from workers.runtime.search import search
from workers.envelope import page_id_for
from workers.runtime.deadletter import read_dead_letter_headers

pytestmark = pytest.mark.stack

HINDI_ENVELOPE_URL = "https://www.indiatv.example/world/russia-asks-north-korea-help-letter"
HINDI_BARE_URL = "https://copy.example/news/putin-letter"


def _send_bare_with_kcat(pipeline, key: str, path) -> None:
    """A bare page as a plain Kafka client sends it: the file as the value, the URL as the key, no envelope."""
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat, "kcat is installed by deploy/local/stack.sh install"
    subprocess.run([kcat, "-P", "-b", pipeline.settings.kafka_bootstrap, "-t", pipeline.topic(topics.RAW), "-k", key, str(path)],
                   check=True, timeout=30)


@pytest.fixture(scope="module")
def hindi_documents(pipeline, hindi_example):
    from tests.conftest import EXAMPLES_DIR

    raw, _ = hindi_example
    pipeline.produce(topics.RAW, HINDI_ENVELOPE_URL.encode(), envelope(raw, HINDI_ENVELOPE_URL, "text/plain"))
    _send_bare_with_kcat(pipeline, HINDI_BARE_URL, EXAMPLES_DIR / "hindi_news_page.txt")
    ids = [page_id_for(HINDI_ENVELOPE_URL, raw), page_id_for(HINDI_BARE_URL, raw)]
    return pipeline.wait_for_documents(ids)


def test_hindi_example_indexed_as_expected_from_envelope_and_bare_record(hindi_documents, hindi_example):
    _, expected = hindi_example
    assert len(hindi_documents) == 2
    for document in hindi_documents.values():
        assert document["title"] == expected["title"]
        assert document["body"] == expected["body"]
        for line in expected["not_in_body"]:
            assert line not in document["body"]
        assert document["lang"] == "hi"
        assert document["category"] == "world"
        texts = {entity["text"] for entity in document["entities"]}
        assert {"पुतिन", "रूस"} <= texts
        assert "Vladimir Putin" in document["people"]
        assert "Russia" in document["places"]


def test_full_text_search_finds_the_hindi_example(pipeline, hindi_documents):
    hits = search(pipeline.es, pipeline.settings.index_alias, "पुतिन", size=10)
    assert set(hindi_documents) <= {hit["_id"] for hit in hits}


@pytest.fixture(scope="module")
def sample_documents(pipeline) -> tuple[dict, dict]:
    expected = {}
    for page in sorted(SAMPLES_DIR.glob("*.*")):
        if page.suffix not in (".html", ".txt"):
            continue
        meta = orjson.loads(page.with_name(page.stem + ".meta.json").read_bytes())
        raw = page.read_text(encoding="utf-8")
        content_type = "text/html" if page.suffix == ".html" else "text/plain"
        pipeline.produce(topics.RAW, None, envelope(raw, meta["url"], content_type))
        expected[page_id_for(meta["url"], raw)] = page.stem
    return expected, pipeline.wait_for_documents(list(expected))


def test_sample_pages_are_indexed_with_their_categories(sample_documents):
    expected, documents = sample_documents
    for page_id, stem in expected.items():
        document = documents[page_id]
        lang, category = stem.split("-")[:2]
        assert document["lang"] == lang, stem
        assert document["category"] == category, stem
        assert document["title"] and len(document["body"]) > 200, stem
        assert document["models"]["enrich"] == "entities-ctx-6", stem  # the contextual taggers, both scripts


def test_bad_record_goes_to_dead_letter_topic_and_stream_goes_on(pipeline):
    pipeline.produce(topics.RAW, b"bad-1", b'{"v": 7, "raw": "x"}')
    good = "Quiet day on the markets\n\n" + "Shares moved little on Monday as traders waited for new data. " * 5
    url = "https://x.example/markets/quiet-day"
    pipeline.produce(topics.RAW, url.encode(), envelope(good, url, "text/plain"))
    pipeline.wait_for_documents([page_id_for(url, good)])
    dead = [m for m in pipeline.read_topic(topics.DEAD_LETTER, 1) if m.key() == b"bad-1"]
    assert dead, "the bad record is in the dead-letter topic"
    headers = read_dead_letter_headers(dead[0].headers())
    assert headers["stage"] == "clean"
    assert headers["reason"] == "unknown_version"
    assert headers["original_topic"] == pipeline.topic(topics.RAW)
    assert dead[0].value() == b'{"v": 7, "raw": "x"}'


def _prometheus_query(expression: str) -> list[dict]:
    url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=10) as response:
        return orjson.loads(response.read())["data"]["result"]


def test_prometheus_has_every_stage_counter(sample_documents):
    wanted = {"clean", "classify", "enrich", "index"}
    deadline = time.monotonic() + 60
    stages: set[str] = set()
    while time.monotonic() < deadline:
        stages = {series["metric"]["stage"] for series in _prometheus_query('newswire_stage_messages_total{outcome="ok"} > 0')}
        if wanted <= stages:
            break
        time.sleep(2)
    assert wanted <= stages
    assert _prometheus_query("newswire_end_to_end_seconds_count > 0")


def test_ingest_sends_good_inputs_and_reports_bad_ones(pipeline, tmp_path):
    import sys

    from workers.datasets import REPO_ROOT

    rows = tmp_path / "pages.jsonl"
    url = "https://x.example/ingest/one"
    text = "Ingested headline\n\n" + "A paragraph of text that is long enough to be an article body here. " * 4
    rows.write_text(orjson.dumps({"url": url, "text": text}).decode() + "\n" + '{"url": "https://x.example/no-page"}\n')
    unknown = tmp_path / "notes.docx"
    unknown.write_bytes(b"PK\x03\x04")
    result = subprocess.run(
        [sys.executable, "-m", "workers", "ingest", str(rows), str(unknown), str(tmp_path / "missing.html")],
        env=pipeline.env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "row has no 'raw', 'html' or 'text'" in result.stderr
    assert "unknown file type" in result.stderr
    assert "missing.html" in result.stderr
    assert "sent 1 pages" in result.stdout
    pipeline.wait_for_documents([page_id_for(url, text)])


def test_health_endpoints_report_ready(pipeline):
    for port in (9401, 9402, 9403, 9404):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            body = response.read().decode()
            assert response.status == 200 and "kafka: ok" in body
    with urllib.request.urlopen("http://127.0.0.1:9404/readyz", timeout=10) as response:
        assert "search_engine: ok" in response.read().decode()


def test_every_document_carries_its_page_embedding_and_knn_finds_it(pipeline, sample_documents):
    """The page embedding is indexed as an int8 HNSW dense vector: the e5 query vector of a page's own title
    finds that page first among the samples."""
    from workers.encoder import get_encoder

    expected, documents = sample_documents
    page_id, document = next((pid, doc) for pid, doc in documents.items() if doc["lang"] == "en")
    assert all(len(doc["embedding"]) == 384 for doc in documents.values())
    mapping = pipeline.es.indices.get_mapping(index=pipeline.settings.index_alias)
    field = next(iter(mapping.values()))["mappings"]["properties"]["embedding"]
    assert field["type"] == "dense_vector" and field["index_options"]["type"] == "int8_hnsw"
    query = get_encoder().queries([document["title"]])[0].tolist()
    hits = pipeline.es.search(index=pipeline.settings.index_alias, size=1, source=False,
                              knn={"field": "embedding", "query_vector": query, "k": 1, "num_candidates": 50,
                                   "filter": {"ids": {"values": list(expected)}}})["hits"]["hits"]
    assert hits[0]["_id"] == page_id


def test_classify_worker_exports_the_encoder_precision_it_runs(pipeline, sample_documents):
    from workers.encoder import get_encoder

    with urllib.request.urlopen("http://127.0.0.1:9402/metrics", timeout=5) as response:
        text = response.read().decode()
    line = next(line for line in text.splitlines() if line.startswith("newswire_encoder_info{"))
    assert 'stage="classify"' in line and 'runtime="openvino"' in line and line.endswith(" 1.0")
    assert f'precision="{get_encoder().precision}"' in line
