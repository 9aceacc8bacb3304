"""The search engine side: client from Settings, index template and write alias created at start-up."""

from __future__ import annotations

import json
from importlib import resources

from elasticsearch import BadRequestError, Elasticsearch
from elasticsearch.serializer import OrjsonSerializer


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
