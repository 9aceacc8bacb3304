"""`newswire search QUERY`: full-text search over indexed pages (title and body, every language analyzer)."""

from __future__ import annotations

import sys

import orjson

from workers.config import load_settings

SEARCH_FIELDS = ["title^3", "title.hi^3", "title.en^3", "body", "body.hi", "body.en", "people", "organisations", "places"]


def register(subparsers) -> None:
    parser = subparsers.add_parser("search", help="full-text search over the indexed pages")
    parser.add_argument("query")
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the hits as one JSON line")
    parser.set_defaults(func=run)


def search(client, alias: str, query: str, size: int) -> list[dict]:
    response = client.search(index=alias, size=size, query={"multi_match": {"query": query, "fields": SEARCH_FIELDS}})
    return [{"_id": hit["_id"], "_score": hit["_score"], **hit["_source"]} for hit in response["hits"]["hits"]]


def run(args) -> int:
    from workers.runtime.search import make_client

    settings = load_settings()
    hits = search(make_client(settings), settings.index_alias, args.query, args.size)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(hits) + b"\n")
        return 0
    print(f"{len(hits)} hits for {args.query!r}")
    for hit in hits:
        print(f"  [{hit['lang']}/{hit['category']}] {hit['title']}  ({hit['_id']})")
    return 0
