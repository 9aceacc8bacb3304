"""Per-record stage work in the pool: the classify and enrich stages run the encoder once per batch and isolate bad
records."""

import orjson
import pytest

from workers import pipeline
from workers.encoder import DIMENSIONS
from workers.runtime import records
from workers.types import Page


def _cleaned(title: str, body: str, url: str) -> bytes:
    page = Page(page_id=url[-8:], url=url, source="test", fetched_at=None, content_type="text/plain",
                raw=f"{title}\n\n{body}")
    return orjson.dumps(pipeline.clean_page(page))


@pytest.fixture(scope="module")
def batch() -> list[records.Record]:
    good = [
        _cleaned("Chipmaker opens a new plant", "The company will build processors for phones and laptops. " * 3,
                 "https://example.com/tech/a"),
        _cleaned("संयुक्त राष्ट्र में जलवायु वार्ता", "जिनेवा में 190 देशों के प्रतिनिधियों ने जलवायु परिवर्तन पर बातचीत की। " * 2,
                 "https://example.com/world/b"),
    ]
    return [records.Record(None, good[0], None), records.Record(None, b"not json", None),
            records.Record(None, good[1], None)]


def test_a_batch_is_classified_with_one_page_embedding_each_and_a_bad_record_dead_lettered(batch, monkeypatch):
    calls = []
    real = pipeline.embedding_stage.embed_pages
    monkeypatch.setattr(pipeline.embedding_stage, "embed_pages", lambda pages: calls.append(len(pages)) or real(pages))
    outcomes = records.transform_batch("classify", batch, 1_000_000)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].reason == "invalid_message"
    assert calls == [2]  # one encoder call for the batch's two documents
    docs = [orjson.loads(o.value) for o in outcomes if o.ok]
    assert all(len(doc["embedding"]) == DIMENSIONS for doc in docs)
    assert docs[0]["models"]["embedding"].startswith("multilingual-e5-small:passage:")
    document = pipeline.index_document(docs[0])
    assert document["embedding"] == docs[0]["embedding"] and document["category"] == docs[0]["topic"]["label"]


def test_a_document_that_fails_the_batch_is_isolated_and_its_neighbours_classified(batch, monkeypatch):
    real = pipeline.classify_stage.classify

    def failing_on_hindi(title, body, lang, section=None, url=None, embedding=None):
        if lang == "hi":
            raise RuntimeError("model failure")
        return real(title, body, lang, section, url, embedding)

    monkeypatch.setattr(pipeline.classify_stage, "classify", failing_on_hindi)
    outcomes = records.transform_batch("classify", batch, 1_000_000)
    assert [o.ok for o in outcomes] == [True, False, False]
    assert [o.reason for o in outcomes] == [None, "invalid_message", "classify_failed"]


@pytest.fixture(scope="module")
def classified_batch(batch) -> list[records.Record]:
    outcomes = records.transform_batch("classify", batch, 1_000_000)
    return [records.Record(None, o.value if o.ok else b"not json", None) for o in outcomes]


def test_a_batch_is_enriched_with_one_encoder_pass_and_as_each_page_alone(classified_batch, monkeypatch):
    from workers import stages

    calls = []
    real = stages.enrich.contextual_evidence
    monkeypatch.setattr(stages.enrich, "contextual_evidence",
                        lambda sentences, *rest: calls.append(len(sentences)) or real(sentences, *rest))
    outcomes = records.transform_batch("enrich", classified_batch, 1_000_000)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].reason == "invalid_message"
    assert len(calls) == 1 and calls[0] > 2  # the sentences of both pages (and their titles) in one pass
    docs = [orjson.loads(o.value) for o in outcomes if o.ok]
    alone = [pipeline.enrich_doc(orjson.loads(r.value)) for r in classified_batch if r.value != b"not json"]
    key = lambda doc: [(e["text"], e["type"], e["start"], e["canonical"]) for e in doc["entities"]]  # noqa: E731
    assert [key(doc) for doc in docs] == [key(doc) for doc in alone]
    assert any(e["canonical"] == "Geneva" for e in docs[1]["entities"])
    assert all("dedup" in doc and doc["models"]["enrich"] == pipeline.enrich_stage.model_version() for doc in docs)


def test_a_page_that_fails_the_enrich_batch_is_isolated_and_its_neighbours_enriched(classified_batch, monkeypatch):
    real = pipeline.enrich_stage.extract_entities_batch

    def failing_on_hindi(pages, tagger=None):
        if any(lang == "hi" for _, lang, _ in pages):
            raise RuntimeError("model failure")
        return real(pages, tagger)

    monkeypatch.setattr(pipeline.enrich_stage, "extract_entities_batch", failing_on_hindi)
    outcomes = records.transform_batch("enrich", classified_batch, 1_000_000)
    assert [o.reason for o in outcomes] == [None, "invalid_message", "enrich_failed"]


def test_documents_without_an_embedding_are_indexed_without_one():
    doc = orjson.loads(_cleaned("Title", "Body text of a page. " * 5, "https://example.com/x/c"))
    doc["topic"] = {"label": "other", "score": 0.5, "probabilities": {}}
    assert "embedding" not in pipeline.index_document(doc)
