"""`newswire search [--semantic|--hybrid|--hybrid-rrf] QUERY`: search the indexed pages (full text over the
language fields by default; workers/runtime/search.py)."""

from __future__ import annotations

import sys

import orjson

from workers.config import load_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser("search", help="search the indexed pages: full text, semantic or hybrid")
    parser.add_argument("query")
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--lang", help="the query's language (ISO 639-1), whose analysed fields are searched beside "
                                       "the standard ones (default: detected in the query; every analysed "
                                       "language's fields when it is not one)")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--semantic", dest="mode", action="store_const", const="semantic",
                       help="nearest neighbours on the page embedding: finds pages in any language")
    modes.add_argument("--hybrid", dest="mode", action="store_const", const="hybrid",
                       help="full text and nearest neighbours, fused by a weighted sum of their normalised scores")
    modes.add_argument("--hybrid-rrf", dest="mode", action="store_const", const="hybrid-rrf",
                       help="full text and nearest neighbours, fused by reciprocal rank")
    parser.set_defaults(mode="text")
    parser.add_argument("--json", action="store_true", help="print the hits as one JSON line")
    parser.set_defaults(func=run)


def run(args) -> int:
    from workers.runtime.search import make_client, search

    settings = load_settings()
    hits = search(make_client(settings), settings.index_alias, args.query, args.size, args.lang, args.mode)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(hits) + b"\n")
        return 0
    print(f"{len(hits)} hits for {args.query!r}")
    for hit in hits:
        print(f"  [{hit['lang']}/{hit['category']}] {hit['title']}  ({hit['_id']})")
    return 0
