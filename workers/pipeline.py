"""The pipeline's stages as pure functions over one page, in order. Where each stage happens:

    clean     workers/stages/clean/      raw page -> title, body, date, section, ...
    language  workers/stages/language.py clean text -> language code and script
    classify  workers/stages/embedding.py title, body -> the page embedding (shared encoder, workers/encoder/)
              workers/stages/classify.py  title, body, section, embedding -> world | tech | politics | other
    enrich    workers/stages/enrich/     body -> people, organisations, places with canonical names
    dedup     workers/stages/dedup.py    body -> a MinHash signature (clusters: workers/runtime/dedup_store.py)
    index     index_document() below     -> the Elasticsearch document (written by workers/runtime/indexer.py),
              workers/stages/analysis.py  with title and body routed to their language's analyzer

Between stages a page travels as a JSON object (`doc` below); every step returns a new one. The Kafka runtime
(workers/runtime/) calls the same functions as `newswire process`, so what a test sees here is what runs.
"""

from __future__ import annotations

from datetime import datetime, timezone

from workers.envelope import decode_raw_record
from workers.stages import analysis
from workers.stages import classify as classify_stage
from workers.stages import clean as clean_stage
from workers.stages import dedup as dedup_stage
from workers.stages import embedding as embedding_stage
from workers.stages import enrich as enrich_stage
from workers.stages import language as language_stage
from workers.stages import story
from workers.stages.enrich.canonical import story_counterparts
from workers.types import Page, to_dict

DOC_VERSION = 1
CLEAN_VERSION = clean_stage.CLEANER_VERSION


def clean_page(page: Page, raw_timestamp_ms: int | None = None) -> dict:
    """clean + language: a Page in, the first form of the pipeline document out."""
    cleaned = clean_stage.clean(page.raw, page.content_type, page.url)
    if not cleaned.body.strip():
        # Nothing to search, classify or enrich (a page of only scripts, an empty shell): a dead letter, not a document.
        raise clean_stage.CleanError("no_content", f"no article text found (quality: {cleaned.quality})")
    language = language_stage.detect_language(f"{cleaned.title}\n{cleaned.body}")
    return {
        "v": DOC_VERSION,
        "page_id": page.page_id,
        "url": page.url,
        "source": page.source,
        "fetched_at": page.fetched_at,
        "content_type": page.content_type,
        "raw_timestamp_ms": raw_timestamp_ms,
        "clean": to_dict(cleaned),
        "language": to_dict(language),
        "models": {"clean": CLEAN_VERSION},
    }


def clean_record(key: bytes | None, value: bytes | None, timestamp_ms: int | None, max_bytes: int) -> dict:
    """The clean stage's input is a raw Kafka record: decode the envelope (or bare page), then clean it."""
    return clean_page(decode_raw_record(key, value, max_bytes), timestamp_ms)


def classify_docs(docs: list[dict]) -> list[dict]:
    """Page embedding + topic for a batch of documents: one batched encoder call for the whole batch."""
    vectors = embedding_stage.embed_pages([(doc["clean"]["title"], doc["clean"]["body"]) for doc in docs])
    return [_classified(doc, vector) for doc, vector in zip(docs, vectors)]


def classify_doc(doc: dict) -> dict:
    return classify_docs([doc])[0]


def _classified(doc: dict, vector) -> dict:
    clean = doc["clean"]
    topic = classify_stage.classify(clean["title"], clean["body"], doc["language"]["code"], clean.get("section"),
                                    doc.get("url"), embedding=vector)
    return {**doc, "topic": to_dict(topic), "embedding": embedding_stage.to_stored(vector),
            "models": {**doc["models"], "classify": classify_stage.MODEL_VERSION, "embedding": embedding_stage.model_version()}}


def enrich_docs(docs: list[dict]) -> list[dict]:
    """Entities for a batch of documents: one batched encoder pass over the sentences of all of them."""
    pages = [(doc["clean"]["body"], doc["language"]["code"], doc["clean"].get("title")) for doc in docs]
    version = enrich_stage.model_version()
    return [{**doc, "entities": [to_dict(e) for e in entities], "models": {**doc["models"], "enrich": version}}
            for doc, entities in zip(docs, enrich_stage.extract_entities_batch(pages), strict=True)]


def enrich_doc(doc: dict) -> dict:
    return enrich_docs([doc])[0]


def fingerprint_doc(doc: dict) -> dict:
    """The near-duplicate signature of the clean body; the indexer turns it into a cluster."""
    signature = dedup_stage.signature(doc["clean"]["body"], doc["language"]["code"])
    return {**doc, "dedup": dedup_stage.signature_to_json(signature),
            "models": {**doc["models"], "dedup": dedup_stage.MODEL_VERSION}}


def _names(entities: list[dict], entity_type: str) -> list[str]:
    return sorted({e["canonical"] for e in entities if e["type"] == entity_type})


def link_story_names(document: dict, story_names: frozenset[str]) -> dict:
    """The index document with each transliterated entity name that sounds like a Latin-script name of its story
    replaced by that name, in every mention that had it (a partial name shares its full name's), and the facets
    rebuilt; the document itself when nothing changes."""
    entities = document.get("entities") or []
    guessed = [entity for entity in entities if entity.get("transliterated")]
    if not guessed or not story_names:
        return document
    found = story_counterparts([(entity["text"], entity["type"]) for entity in guessed], story_names)
    renamed = {entity["canonical"]: name for entity, name in zip(guessed, found, strict=True) if name}
    if not renamed:
        return document
    linked = [{**entity, "canonical": renamed[entity["canonical"]], "transliterated": False}
              if entity["canonical"] in renamed else entity for entity in entities]
    return {**document, "entities": linked, "people": _names(linked, "PER"),
            "organisations": _names(linked, "ORG"), "places": _names(linked, "LOC")}


def with_story_topic(document: dict, story_topic: dict[str, float]) -> dict:
    """The index document filed under its story's category (story.story_topic of its tellings); the document
    itself when that changes nothing."""
    if not story_topic:
        return document
    label = story.story_label(story_topic)
    score = round(float(story_topic[label]), 6)
    if document.get("category") == label and document.get("category_score") == score:
        return document
    return {**document, "category": label, "category_score": score}


def index_document(doc: dict, indexed_at: datetime | None = None) -> dict:
    """The Elasticsearch `_source` for a fully processed page (its `_id` is doc["page_id"])."""
    clean, entities = doc["clean"], doc.get("entities", [])
    document = {
        "page_id": doc["page_id"],
        "url": doc.get("url"),
        "canonical_url": clean.get("canonical_url") or doc.get("url"),
        "source": doc.get("source"),
        "site_name": clean.get("site_name"),
        "title": clean["title"],
        "lead": clean.get("lead") or "",
        "body": clean["body"],
        "section": clean.get("section"),
        "authors": clean.get("authors", []),
        "published_at": clean.get("published_at"),
        "fetched_at": doc.get("fetched_at"),
        "indexed_at": (indexed_at or datetime.now(timezone.utc)).isoformat(),
        "quality": clean.get("quality", "article"),
        "lang": doc["language"]["code"],
        "script": doc["language"]["script"],
        "lang_mixed": doc["language"].get("mixed", False),
        # `category` is the story's (the indexer sets it from every telling, `with_story_topic`); `page_category` and
        # `topic_probabilities` stay what the classify stage said of this page alone.
        "category": doc["topic"]["label"],
        "category_score": doc["topic"]["score"],
        "page_category": doc["topic"]["label"],
        "topic_probabilities": doc["topic"].get("probabilities") or {},
        "entities": entities,
        "people": _names(entities, "PER"),
        "organisations": _names(entities, "ORG"),
        "places": _names(entities, "LOC"),
        # The indexer replaces these with the copy cluster (workers/runtime/dedup_store.py) and the story across
        # languages (workers/runtime/story_store.py).
        "cluster_id": doc["page_id"],
        "is_duplicate": False,
        "story_id": doc["page_id"],
        "models": doc["models"],
    }
    document.update(analysis.routed_fields(document["lang"], document["title"], document["body"]))
    if doc.get("embedding"):  # documents classified before the page embedding existed have none
        document["embedding"] = doc["embedding"]
    return document


def process_page(page: Page) -> dict:
    """Every stage in-process, no servers: what `newswire process` prints."""
    return index_document(fingerprint_doc(enrich_doc(classify_doc(clean_page(page)))))
