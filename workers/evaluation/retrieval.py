"""Score cross-language retrieval with the page embedding: for each row not in the pivot language, rank every
pivot-language row by cosine; the hit is the row of the same `group` (a translation or another telling).

Rows: `{id, lang, text, group}` (`title` optional). Rows without `group` take `<split>-<flores_index_id>`, so the
SIB-200 rows (parallel FLORES sentences) read as they are. Each text is embedded as the pipeline embeds a page
(workers/stages/embedding.py, the passage side of e5), so this measures the vectors the index holds.
Last line with --json: {"n", "top1", "mrr", "per_lang"}.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import orjson

from workers.datasets import read_jsonl
from workers.stages import embedding as embedding_stage



def add_arguments(parser) -> None:
    parser.add_argument("--pivot", default="en", help="the language every other row is matched against (default: en)")


def group_of(row: dict) -> str | None:
    if row.get("group") is not None:
        return str(row["group"])
    if row.get("flores_index_id") is not None:
        return f"{row.get('split')}-{row['flores_index_id']}"
    return None


def embed_rows(rows: list[dict]) -> np.ndarray:
    return embedding_stage.embed_pages([(row.get("title"), row.get("text") or "") for row in rows])


def score(rows: list[dict], vectors: np.ndarray, pivot: str) -> dict:
    pivot_rows = [i for i, row in enumerate(rows) if row["lang"] == pivot]
    pivot_position = {group_of(rows[i]): position for position, i in enumerate(pivot_rows)}
    pivot_vectors = vectors[pivot_rows]
    ranks_by_lang: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row["lang"] == pivot or group_of(row) not in pivot_position:
            continue
        similarities = pivot_vectors @ vectors[i]
        target = similarities[pivot_position[group_of(row)]]
        ranks_by_lang[row["lang"]].append(1 + int((similarities > target).sum()))
    all_ranks = [rank for ranks in ranks_by_lang.values() for rank in ranks]

    def summary(ranks: list[int]) -> dict:
        return {"n": len(ranks), "top1": round(sum(r == 1 for r in ranks) / len(ranks), 4) if ranks else 0.0,
                "mrr": round(float(np.mean([1.0 / r for r in ranks])), 4) if ranks else 0.0}

    return {**summary(all_ranks), "pivot": pivot, "candidates": len(pivot_rows),
            "per_lang": {lang: summary(ranks) for lang, ranks in sorted(ranks_by_lang.items())}}


def run(args) -> int:
    rows = [row for row in read_jsonl(args.data, limit=args.limit) if (row.get("text") or "").strip() and group_of(row)]
    if not any(row["lang"] == args.pivot for row in rows):
        print(f"no rows in the pivot language {args.pivot!r}")
        return 1
    result = score(rows, embed_rows(rows), args.pivot)
    print(f"{args.data}: n={result['n']} top1={result['top1']:.4f} mrr={result['mrr']:.4f} "
          f"against {result['candidates']} {args.pivot} rows")
    for lang, figures in result["per_lang"].items():
        print(f"  [{lang}] n={figures['n']} top1={figures['top1']:.4f} mrr={figures['mrr']:.4f}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
