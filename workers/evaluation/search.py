"""Score full-text search per language against the real engine: language analyzers beside the standard analyzer.

Rows: `{id, lang, query, body}` (`python -m workers.evaluation.search_set` builds them from the development data;
`split` selects a half). Every body is indexed into a throwaway index made from the production template
(workers/runtime/search.py) through the pipeline's field routing (workers/stages/analysis.py); each query must
find its own article among all of them. Two runs on the same index: `analysed` is what `newswire search` sends
(standard, language and entity fields, the query's language not given), `standard` searches `title` and `body`
only. Last line with --json: {"n", "per_lang": {lang: {"n", "covered", "analysed": {...}, "standard": {...}}}}
with recall@10 and MRR@10 in each.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import orjson
from elasticsearch import helpers

from workers.config import load_settings
from workers.datasets import read_jsonl
from workers.stages import analysis

TOP_K = 10
MSEARCH_BATCH = 100


def add_arguments(parser) -> None:
    parser.add_argument("--split", choices=("tune", "report"), help="score only this half of the rows")


def index_rows(client, alias: str, rows: list[dict]) -> None:
    from workers.runtime.search import ensure_index

    ensure_index(client, alias)
    actions = ({"_index": alias, "_id": row["id"],
                "_source": {"page_id": row["id"], "title": "", "body": row["body"], "lang": row["lang"],
                            **analysis.routed_fields(row["lang"], "", row["body"])}} for row in rows)
    helpers.bulk(client, actions, chunk_size=200, refresh="wait_for")


def ranks(client, alias: str, rows: list[dict], query_for) -> list[int | None]:
    """1-based rank of each row's own article in the top TOP_K of its query, None when it is not there."""
    found: list[int | None] = []
    for start in range(0, len(rows), MSEARCH_BATCH):
        batch = rows[start:start + MSEARCH_BATCH]
        searches = []
        for row in batch:
            searches += [{"index": alias}, {"size": TOP_K, "_source": False, "query": query_for(row)}]
        for row, response in zip(batch, client.msearch(searches=searches)["responses"]):
            ids = [hit["_id"] for hit in response["hits"]["hits"]]
            found.append(ids.index(row["id"]) + 1 if row["id"] in ids else None)
    return found


def summary(found: list[int | None]) -> dict:
    n = len(found)
    return {"recall_at_10": round(sum(rank is not None for rank in found) / n, 4),
            "mrr_at_10": round(sum(1.0 / rank for rank in found if rank) / n, 4)}


def score(client, alias: str, rows: list[dict]) -> dict:
    from workers.runtime.search import full_text_query

    modes = {
        "analysed": lambda row: full_text_query(row["query"]),
        "standard": lambda row: full_text_query(row["query"], fields=analysis.STANDARD_FIELDS),
    }
    by_mode = {mode: ranks(client, alias, rows, query_for) for mode, query_for in modes.items()}
    positions = defaultdict(list)
    for i, row in enumerate(rows):
        positions[row["lang"]].append(i)
    per_lang = {lang: {"n": len(indices), "covered": lang in analysis.COVERED_LANGUAGES,
                       **{mode: summary([found[i] for i in indices]) for mode, found in by_mode.items()}}
                for lang, indices in sorted(positions.items(), key=lambda item: (-len(item[1]), item[0]))}
    return {"n": len(rows), **{mode: summary(found) for mode, found in by_mode.items()}, "per_lang": per_lang}


def run(args) -> int:
    from workers.runtime.search import make_client

    rows = [row for row in read_jsonl(args.data, limit=args.limit) if not args.split or row.get("split") == args.split]
    if not rows:
        print("no rows")
        return 1
    client = make_client(load_settings())
    alias = f"newswire-eval-search-{uuid.uuid4().hex[:8]}"
    try:
        index_rows(client, alias, rows)
        result = score(client, alias, rows)
    finally:
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-template")
    print(f"{args.data}: {result['n']} articles; recall@10 / MRR@10, language analyzers vs standard")
    for lang, figures in result["per_lang"].items():
        analysed, standard = figures["analysed"], figures["standard"]
        print(f"  [{lang}] n={figures['n']:<4} {'covered' if figures['covered'] else 'standard only':13} "
              f"analysed {analysed['recall_at_10']:.4f} / {analysed['mrr_at_10']:.4f}   "
              f"standard {standard['recall_at_10']:.4f} / {standard['mrr_at_10']:.4f}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
