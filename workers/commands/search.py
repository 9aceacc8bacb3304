"""`newswire search QUERY`: full-text search over indexed pages (title and body, every language analyzer)."""

from __future__ import annotations

import sys

import orjson

from workers.config import load_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("search", help="full-text search over the indexed pages")
    parser.add_argument("query")
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--lang", help="the query's language (ISO 639-1): search that language's fields only "
                                       "(default: the fields of every analysed language)")
    parser.add_argument("--json", action="store_true", help="print the hits as one JSON line")
    parser.set_defaults(func=run)


def run(args) -> int:
    from workers.runtime.search import make_client, search

    settings = load_settings()
    hits = search(make_client(settings), settings.index_alias, args.query, args.size, args.lang)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(hits) + b"\n")
        return 0
    print(f"{len(hits)} hits for {args.query!r}")
    for hit in hits:
        print(f"  [{hit['lang']}/{hit['category']}] {hit['title']}  ({hit['_id']})")
    return 0
