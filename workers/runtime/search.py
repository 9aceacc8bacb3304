"""The search engine side: client from Settings, index template and write alias created at start-up, and the
queries other callers (the `newswire search` command, the evals) run against the alias."""

from __future__ import annotations

import json
from importlib import resources

from elasticsearch import BadRequestError, Elasticsearch
from elasticsearch.serializer import OrjsonSerializer

from workers.stages import analysis

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
    return Elasticsearch(settings.es_url, request_timeout=30, serializer=OrjsonSerializer(), **auth)


def index_template(alias: str, replicas: int = 0, lifecycle_policy: str = "") -> dict:
    text = resources.files("workers.runtime").joinpath("index_template.json").read_text(encoding="utf-8")
    template = json.loads(text.replace("{alias}", alias))
    template["template"]["mappings"]["properties"].update(analysis.mapping_properties())
    index_settings = template["template"]["settings"]
    index_settings["number_of_replicas"] = replicas
    if lifecycle_policy:
        index_settings["index.lifecycle.name"] = lifecycle_policy
        index_settings["index.lifecycle.rollover_alias"] = alias
    return template


def ensure_index(client: Elasticsearch, alias: str, replicas: int = 0, lifecycle_policy: str = "") -> None:
    """Idempotent: (re)install the template, then create the first index behind the write alias if none exists;
    an index that exists already gets the template's mapping, so fields added by an upgrade (the page embedding)
    are accepted by it too (adding fields is allowed on a live index; the mapping is strict)."""
    template = index_template(alias, replicas, lifecycle_policy)
    client.indices.put_index_template(name=f"{alias}-template", **template)
    if not client.indices.exists_alias(name=alias):
        try:
            client.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}})
            return
        except BadRequestError as error:
            if error.error != "resource_already_exists_exception":  # another indexer replica won the race
                raise
    client.indices.put_mapping(index=alias, properties=template["template"]["mappings"]["properties"])


def full_text_query(text: str, lang: str | None = None, fields: list[str] | None = None) -> dict:
    """BM25 over the standard fields, the language fields of `lang` (every covered language when None; see
    workers/stages/analysis.py) and the entity names."""
    return {"multi_match": {"query": text, "fields": fields or analysis.query_fields(lang) + ENTITY_FIELDS}}


def search(client: Elasticsearch, alias: str, text: str, size: int = 10, lang: str | None = None) -> list[dict]:
    response = client.search(index=alias, size=size, query=full_text_query(text, lang))
    return [{"_id": hit["_id"], "_score": hit["_score"], **hit["_source"]} for hit in response["hits"]["hits"]]
