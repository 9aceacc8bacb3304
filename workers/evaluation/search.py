"""Score search against the real engine, per language: full text (language analyzers beside the standard
analyzer), semantic, and hybrid (RRF and weighted sum).

Rows, default mode: `{id, lang, query, body}` (`python -m workers.evaluation.search_set` builds them from the
development data; `split` selects a half); each query must find its own article among all of them.
Rows, `--cross`: `{id, lang, text, group}` (`group` optional: SIB-200 rows read as they are, as in
`eval retrieval`); each row's text is the query and its target is the row of the same group in another
language, the query's own row left out of the ranking (figures per `query->target` language pair).

Every row is indexed into a throwaway index made from the production template (workers/runtime/search.py),
with the pipeline's field routing (workers/stages/analysis.py) and page embedding (workers/stages/embedding.py),
and queried as `newswire search` does. Modes: `standard` (BM25 on `title` and `body` only), `text` (what
`newswire search` sends: standard, subword, language and entity fields, the query's language not given), `semantic`,
`hybrid-rrf` (RRF) and `hybrid` (SEMANTIC_WEIGHT), the fused ones from the same two ranked lists.
`--sweep` adds the weighted sum at every weight 0.0..1.0 (overall figures), to choose SEMANTIC_WEIGHT on the
tune half, and full text at subword weights 0.0..3.0 (overall and per language), to choose the two
SUBWORD_WEIGHT_* settings (workers/stages/analysis.py). Last line with --json: {"n", <mode>: {recall_at_10,
mrr_at_10}, "per_lang": {key: {"n", "covered", <mode>: {...}}}, "sweep"?, "subword_sweep"?}.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import orjson
from elasticsearch import helpers

from workers.config import load_settings
from workers.datasets import read_jsonl
from workers.evaluation.retrieval import group_of
from workers.runtime import search as search_runtime
from workers.stages import analysis
from workers.stages import embedding as embedding_stage

TOP_K = 10
MSEARCH_BATCH = 50
MODES = ("standard", "text", "semantic", "hybrid-rrf", "hybrid")
SWEEP_WEIGHTS = [round(0.1 * step, 1) for step in range(11)]
SUBWORD_SWEEP_WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0]


def add_arguments(parser) -> None:
    parser.add_argument("--split", choices=("tune", "report"), help="score only this half of the rows (row field "
                                                                    "`split`; SIB-200 train and dev read as tune and report)")
    parser.add_argument("--cross", action="store_true", help="cross-language rows: the target is the same group "
                                                             "in another language")
    parser.add_argument("--sweep", action="store_true", help="also score the weighted sum at weights 0.0..1.0, "
                                                             "and full text at subword weights 0.0..3.0")


def split_of(row: dict) -> str | None:
    return {"train": "tune", "dev": "report"}.get(row.get("split"), row.get("split"))


def load_rows(args) -> list[dict]:
    rows = []
    for row in read_jsonl(args.data, limit=args.limit):
        if args.split and split_of(row) != args.split:
            continue
        if args.cross:
            if not (row.get("text") or "").strip() or group_of(row) is None:
                continue
            row = {"id": row["id"], "lang": row["lang"], "body": row["text"], "query": row["text"], "group": group_of(row)}
        rows.append({**row, "lang": row["lang"].split("-")[0]})
    return rows


def index_rows(client, alias: str, rows: list[dict]) -> None:
    search_runtime.ensure_index(client, alias)
    vectors = embedding_stage.embed_pages([("", row["body"]) for row in rows])
    actions = ({"_index": alias, "_id": row["id"],
                "_source": {"page_id": row["id"], "title": "", "body": row["body"], "lang": row["lang"],
                            "embedding": embedding_stage.to_stored(vector),
                            **analysis.routed_fields(row["lang"], "", row["body"])}} for row, vector in zip(rows, vectors))
    helpers.bulk(client, actions, chunk_size=200, refresh="wait_for")


def targets_of(rows: list[dict], cross: bool) -> list[set[str]]:
    if not cross:
        return [{row["id"]} for row in rows]
    by_group = defaultdict(list)
    for row in rows:
        by_group[row["group"]].append(row)
    return [{other["id"] for other in by_group[row["group"]] if other["lang"] != row["lang"]} for row in rows]


def ranked_lists(client, alias: str, rows: list[dict], cross: bool,
                 subword_weights: list[float] = ()) -> list[dict[str, list[dict]]]:
    """Per row, the standard, text and semantic hits (the last two a fusion window long), own row removed in
    cross mode; with `subword_weights`, also full text at each of them (`text@<weight>`)."""
    window = search_runtime.FUSION_WINDOW + 1
    vectors = search_runtime.query_vectors([row["query"] for row in rows])
    names = ["standard", "text", "semantic", *(f"text@{weight}" for weight in subword_weights)]
    lists = []
    for start in range(0, len(rows), MSEARCH_BATCH):
        searches = []
        for row, vector in zip(rows[start:start + MSEARCH_BATCH], vectors[start:start + MSEARCH_BATCH]):
            bodies = [
                {"query": search_runtime.full_text_query(row["query"], fields=analysis.STANDARD_FIELDS), "size": TOP_K + 1},
                {"query": search_runtime.full_text_query(row["query"]), "size": window},
                {"knn": search_runtime.knn_clause(vector, window), "size": window},
                *({"query": search_runtime.full_text_query(row["query"], subword_weight=weight), "size": TOP_K + 1}
                  for weight in subword_weights),
            ]
            for body in bodies:
                searches += [{"index": alias}, {**body, "_source": False}]
        responses = client.msearch(searches=searches)["responses"]
        for offset, row in enumerate(rows[start:start + MSEARCH_BATCH]):
            own = [[hit for hit in response["hits"]["hits"] if not (cross and hit["_id"] == row["id"])]
                   for response in responses[len(names) * offset: len(names) * (offset + 1)]]
            lists.append(dict(zip(names, own)))
    return lists


def top_ids(mode: str, lists: dict[str, list[dict]], weight: float) -> list[str]:
    if mode == "standard":
        hits = lists["standard"][:TOP_K]
    elif mode in ("text", "semantic"):
        hits = lists[mode][:TOP_K]
    else:
        hits = search_runtime.fuse(mode, [lists["text"], lists["semantic"]], TOP_K, weight)
    return [hit["_id"] for hit in hits]


def rank_of(ids: list[str], targets: set[str]) -> int | None:
    return next((position for position, page_id in enumerate(ids, start=1) if page_id in targets), None)


def summary(found: list[int | None]) -> dict:
    n = len(found)
    return {"recall_at_10": round(sum(rank is not None for rank in found) / n, 4) if n else 0.0,
            "mrr_at_10": round(sum(1.0 / rank for rank in found if rank) / n, 4) if n else 0.0}


def score(rows: list[dict], lists: list[dict], targets: list[set[str]], cross: bool, sweep: bool) -> dict:
    scored = [i for i, target in enumerate(targets) if target]
    keys = {i: f"{rows[i]['lang']}->{'+'.join(sorted({r['lang'] for r in rows if r['id'] in targets[i]}))}"
            if cross else rows[i]["lang"] for i in scored}
    found = {mode: {i: rank_of(top_ids(mode, lists[i], search_runtime.SEMANTIC_WEIGHT), targets[i]) for i in scored}
             for mode in MODES}
    positions = defaultdict(list)
    for i in scored:
        positions[keys[i]].append(i)
    result = {"n": len(scored), **{mode: summary(list(found[mode].values())) for mode in MODES},
              "semantic_weight": search_runtime.SEMANTIC_WEIGHT,
              "per_lang": {key: {"n": len(indices),
                                 "covered": key.split("->")[0] in analysis.COVERED_LANGUAGES,
                                 **{mode: summary([found[mode][i] for i in indices]) for mode in MODES}}
                           for key, indices in sorted(positions.items(), key=lambda item: (-len(item[1]), item[0]))}}
    if sweep:
        result["sweep"] = {str(weight): summary([rank_of(top_ids("hybrid", lists[i], weight), targets[i])
                                                 for i in scored]) for weight in SWEEP_WEIGHTS}
        subword_found = {weight: {i: rank_of([hit["_id"] for hit in lists[i][f"text@{weight}"][:TOP_K]], targets[i])
                                  for i in scored} for weight in SUBWORD_SWEEP_WEIGHTS}
        result["subword_sweep"] = {
            str(weight): {**summary(list(found_at.values())),
                          "per_lang": {key: summary([found_at[i] for i in indices]) for key, indices in positions.items()}}
            for weight, found_at in subword_found.items()}
    return result


def run(args) -> int:
    rows = load_rows(args)
    if not rows:
        print("no rows")
        return 1
    client = search_runtime.make_client(load_settings())
    alias = f"newswire-eval-search-{uuid.uuid4().hex[:8]}"
    try:
        index_rows(client, alias, rows)
        lists = ranked_lists(client, alias, rows, args.cross, SUBWORD_SWEEP_WEIGHTS if args.sweep else ())
        result = score(rows, lists, targets_of(rows, args.cross), args.cross, args.sweep)
    finally:
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-template")
    print(f"{args.data}: {result['n']} queries; recall@10 / MRR@10 per mode")
    print(f"  {'':14} {'n':>5} " + " ".join(f"{mode:>17}" for mode in MODES))
    for key, figures in [("all", {"n": result["n"], **result}), *result["per_lang"].items()]:
        cells = " ".join(f"{figures[mode]['recall_at_10']:.3f} / {figures[mode]['mrr_at_10']:.3f}".rjust(17) for mode in MODES)
        print(f"  {key:14} {figures['n']:>5} {cells}")
    for weight, figures in result.get("sweep", {}).items():
        print(f"  weighted sum, semantic weight {weight}: {figures['recall_at_10']:.4f} / {figures['mrr_at_10']:.4f}")
    for weight, figures in result.get("subword_sweep", {}).items():
        print(f"  full text, subword weight {weight}: {figures['recall_at_10']:.4f} / {figures['mrr_at_10']:.4f}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
