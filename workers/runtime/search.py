"""The search engine side: client from Settings, index template and write alias created at start-up, and the
queries other callers (the `newswire search` command, the evals) run against the alias."""

from __future__ import annotations

import json
import logging
from importlib import resources

from elasticsearch import BadRequestError, Elasticsearch
from elasticsearch.serializer import OrjsonSerializer

from workers.stages import analysis
from workers.stages.language import detect_language

log = logging.getLogger(__name__)

# Canonical entity names match whatever the query's language: they are keywords.
ENTITY_FIELDS = ["people", "organisations", "places"]


def make_client(settings) -> Elasticsearch:
    auth = {}
    if settings.es_api_key.reveal():
        auth["api_key"] = settings.es_api_key.reveal()
    elif settings.es_username:
        auth["basic_auth"] = (settings.es_username, settings.es_password.reveal())
    if settings.es_ca_certs:
        auth["ca_certs"] = settings.es_ca_certs
    # orjson for request and response bodies: the indexer's multi-gets and bulk responses are parsed here, and
    # the standard library's json costs several times more CPU per document.
    # Several nodes, comma-separated: a request that cannot reach one node is retried on the next.
    nodes = [url.strip() for url in settings.es_url.split(",") if url.strip()]
    return Elasticsearch(nodes, request_timeout=30, serializer=OrjsonSerializer(), **auth)


def index_template(alias: str, replicas: int = 0, lifecycle_policy: str = "") -> dict:
    text = resources.files("workers.runtime").joinpath("index_template.json").read_text(encoding="utf-8")
    template = json.loads(text.replace("{alias}", alias))
    properties = template["template"]["mappings"]["properties"]
    properties.update(analysis.mapping_properties())
    for field in ("title", "body"):
        properties[field]["fields"][analysis.SUBWORD_FIELD] = analysis.subword_mapping()
    index_settings = template["template"]["settings"]
    index_settings["analysis"] = analysis.index_analysis()
    index_settings["number_of_replicas"] = replicas
    if lifecycle_policy:
        index_settings["index.lifecycle.name"] = lifecycle_policy
        index_settings["index.lifecycle.rollover_alias"] = alias
    return template


def ensure_index(client: Elasticsearch, alias: str, replicas: int = 0, lifecycle_policy: str = "") -> None:
    """Idempotent: (re)install the template, then create the first index behind the write alias if none exists;
    an index that exists already gets the template's mapping, so fields added by an upgrade (the page embedding)
    are accepted by it too (adding fields is allowed on a live index; the mapping is strict). The subword fields
    are the exception: their analyzer is an index setting, which an open index cannot take, so an index made
    before them goes without them (searches skip a field an index lacks) and the next one, made from the
    template at rollover, has them."""
    template = index_template(alias, replicas, lifecycle_policy)
    client.indices.put_index_template(name=f"{alias}-template", **template)
    if not client.indices.exists_alias(name=alias):
        try:
            client.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}})
            return
        except BadRequestError as error:
            if error.error != "resource_already_exists_exception":  # another indexer replica won the race
                raise
    properties = template["template"]["mappings"]["properties"]
    without = _indices_without_subword_analyzer(client, alias)
    if without:
        log.warning("indices %s were made before the subword fields: they stay without them (the template's next "
                    "index has them; reindex to add them to old pages)", ",".join(sorted(without)))
        properties = {**properties, **{field: {**properties[field], "fields": {
            name: spec for name, spec in properties[field]["fields"].items() if name != analysis.SUBWORD_FIELD}}
            for field in ("title", "body")}}
    client.indices.put_mapping(index=alias, properties=properties)


def _indices_without_subword_analyzer(client: Elasticsearch, alias: str) -> list[str]:
    settings = client.indices.get_settings(index=alias, name=f"index.analysis.analyzer.{analysis.SUBWORD_ANALYZER}.*")
    every = client.indices.get_alias(name=alias)
    return [index for index in every if not settings.get(index, {}).get("settings")]


# Search modes: BM25 only, nearest neighbours on the page embedding, and the two fused client-side (the local
# engine has no rank-rrf module, so no `rrf` retriever; fusing here also lets the eval score both fusions from
# one pair of ranked lists).
MODES = ("text", "semantic", "hybrid-rrf", "hybrid")
KNN_CANDIDATES = 100  # HNSW candidates per shard, at least k: more recall for a little more search time
FUSION_WINDOW = 50  # hits taken from each list before fusing
RRF_RANK_CONSTANT = 60  # the usual k of reciprocal rank fusion, not tuned
# Left out of the hits callers get: 384 floats and second copies of the text.
HIT_SOURCE = {"excludes": ["embedding", "title_by_lang", "body_by_lang"]}
# Share of the normalised kNN score in the weighted sum: the weight with the best mean MRR@10 over the tune halves
# of the within-language and the cross-language eval sets (0.7; docs/search.md has the sweep).
SEMANTIC_WEIGHT = 0.7


def full_text_query(text: str, lang: str | None = None, fields: list[str] | None = None,
                    subword_weight: float | None = None) -> dict:
    """BM25 over the standard and subword fields, the language fields of the query's language and the entity
    names; the scores of the fields add up (`most_fields`: with `best_fields` the standard field's score, higher for
    unstemmed rare words, hid the language field's). The language is `lang`, else the one the language stage
    detects in the query; when that is not an analysed language (or undetermined), every language's fields are
    searched (workers/stages/analysis.py). Chosen on the tune half of the search eval set (docs/search.md)."""
    if fields is None:
        lang = lang or detect_language(text).code
        fields = analysis.query_fields(lang if lang in analysis.COVERED_LANGUAGES else None, subword_weight) + ENTITY_FIELDS
    return {"multi_match": {"query": text, "fields": fields, "type": "most_fields"}}


def query_vectors(texts: list[str]) -> list[list[float]]:
    """e5's query side of the encoder the pages were embedded with (workers/stages/embedding.py)."""
    from workers.encoder import get_encoder

    return get_encoder().queries(texts).tolist()


def knn_clause(vector: list[float], k: int) -> dict:
    return {"field": "embedding", "query_vector": vector, "k": k, "num_candidates": max(KNN_CANDIDATES, k)}


def fuse_rrf(ranked_lists: list[list[dict]], size: int) -> list[dict]:
    """Reciprocal rank fusion: each hit scores the sum of 1 / (k + rank) over the lists it is in."""
    scores: dict[str, float] = {}
    hits: dict[str, dict] = {}
    for ranked in ranked_lists:
        for rank, hit in enumerate(ranked, start=1):
            scores[hit["_id"]] = scores.get(hit["_id"], 0.0) + 1.0 / (RRF_RANK_CONSTANT + rank)
            hits.setdefault(hit["_id"], hit)
    order = sorted(scores, key=lambda page_id: -scores[page_id])[:size]
    return [{**hits[page_id], "_score": scores[page_id]} for page_id in order]


def _min_max(ranked: list[dict]) -> dict[str, float]:
    if not ranked:
        return {}
    top, bottom = ranked[0]["_score"], ranked[-1]["_score"]
    spread = top - bottom
    return {hit["_id"]: (hit["_score"] - bottom) / spread if spread else 1.0 for hit in ranked}


def fuse_weighted(text_hits: list[dict], semantic_hits: list[dict], semantic_weight: float, size: int) -> list[dict]:
    """Weighted sum of the two lists' scores, each min-max normalised over its window (BM25 scores are
    unbounded, kNN scores are (1 + cosine) / 2); a hit missing from a list gets 0 from it."""
    text_scores, semantic_scores = _min_max(text_hits), _min_max(semantic_hits)
    hits = {hit["_id"]: hit for hit in semantic_hits + text_hits}
    scores = {page_id: (1 - semantic_weight) * text_scores.get(page_id, 0.0)
              + semantic_weight * semantic_scores.get(page_id, 0.0) for page_id in hits}
    order = sorted(scores, key=lambda page_id: -scores[page_id])[:size]
    return [{**hits[page_id], "_score": scores[page_id]} for page_id in order]


def requests_for(mode: str, text: str, vector: list[float] | None, size: int, lang: str | None = None) -> list[dict]:
    """The search bodies a mode sends (one, or two to fuse)."""
    window = max(size, FUSION_WINDOW)
    if mode == "text":
        bodies = [{"size": size, "query": full_text_query(text, lang)}]
    elif mode == "semantic":
        bodies = [{"size": size, "knn": knn_clause(vector, size)}]
    else:
        bodies = [{"size": window, "query": full_text_query(text, lang)}, {"size": window, "knn": knn_clause(vector, window)}]
    return [{**body, "_source": HIT_SOURCE} for body in bodies]


def fuse(mode: str, ranked_lists: list[list[dict]], size: int, semantic_weight: float = SEMANTIC_WEIGHT) -> list[dict]:
    if mode in ("text", "semantic"):
        return ranked_lists[0][:size]
    if mode == "hybrid-rrf":
        return fuse_rrf(ranked_lists, size)
    if mode == "hybrid":
        return fuse_weighted(ranked_lists[0], ranked_lists[1], semantic_weight, size)
    raise ValueError(f"unknown search mode {mode!r}; one of {MODES}")


def search(client: Elasticsearch, alias: str, text: str, size: int = 10, lang: str | None = None,
           mode: str = "text") -> list[dict]:
    """Ranked pages for `text`: mode `text` (BM25 over the language fields), `semantic` (kNN on the page
    embedding; `lang` does not apply, any language can answer), `hybrid` (weighted sum of the two's normalised
    scores) or `hybrid-rrf` (reciprocal rank fusion of the two)."""
    vector = query_vectors([text])[0] if mode != "text" else None
    searches = []
    for body in requests_for(mode, text, vector, size, lang):
        searches += [{"index": alias}, body]
    responses = client.msearch(searches=searches)["responses"]
    for response in responses:
        if "error" in response:
            raise RuntimeError(f"search failed: {response['error']}")
    ranked = fuse(mode, [response["hits"]["hits"] for response in responses], size)
    return [{"_id": hit["_id"], "_score": hit["_score"], **hit["_source"]} for hit in ranked]
