"""Score near-duplicate detection on a set of story copies: precision/recall/F1 over duplicate pairs.

Input rows: {id, lang, text, cluster}; rows of one `cluster` are copies of one story (build a set with
`python -m workers.evaluation.dedup_set`). As the runtime does, candidate pairs are rows sharing an LSH band
key, and a candidate is a duplicate when `similarity >= DUPLICATE_THRESHOLD`. Every pair of rows is scored:
a true pair is two rows of one cluster; a false merge is a predicted pair of two clusters.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from itertools import combinations

import orjson

from workers.datasets import read_jsonl
from workers.stages import dedup


def add_arguments(parser) -> None:
    parser.add_argument("--threshold", type=float, default=None, help="override DUPLICATE_THRESHOLD (for sweeps)")
    parser.add_argument("--errors", type=int, default=0, help="print up to N missed pairs and N false merges")


def candidate_pairs(signatures: list[dedup.Signature]) -> set[tuple[int, int]]:
    """Pairs of row indices that share at least one band key (what a band lookup in the engine returns)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, sig in enumerate(signatures):
        for key in sig.bands:
            by_key[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for indices in by_key.values():
        pairs.update(combinations(indices, 2))
    return pairs


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def pair_scores(clusters: list[str], predicted: set[tuple[int, int]]) -> dict:
    sizes = Counter(clusters)
    pairs_true = sum(size * (size - 1) // 2 for size in sizes.values())
    true_positives = sum(1 for i, j in predicted if clusters[i] == clusters[j])
    precision = _ratio(true_positives, len(predicted))
    recall = _ratio(true_positives, pairs_true)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    return {
        "pairs_true": pairs_true,
        "pairs_predicted": len(predicted),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_merges": len(predicted) - true_positives,
    }


def score(rows: list[dict], threshold: float = dedup.DUPLICATE_THRESHOLD, errors: int = 0) -> dict:
    """Pair scores of the runtime's procedure (band lookup, then the threshold) on rows with text and cluster."""
    started = time.perf_counter()
    signatures = [dedup.signature(row["text"], row.get("lang") or "") for row in rows]
    elapsed = time.perf_counter() - started
    candidates = candidate_pairs(signatures)
    similarity = {pair: dedup.similarity(signatures[pair[0]], signatures[pair[1]]) for pair in candidates}
    predicted = {pair for pair, value in similarity.items() if value >= threshold}
    clusters = [row["cluster"] for row in rows]

    result = {"n": len(rows), **pair_scores(clusters, predicted)}
    true_candidates = sum(1 for i, j in candidates if clusters[i] == clusters[j])
    result["candidate_pairs"] = len(candidates)
    result["false_candidates"] = len(candidates) - true_candidates
    result["true_pairs_not_candidates"] = result["pairs_true"] - true_candidates
    result["docs_per_second"] = round(len(rows) / elapsed, 1) if elapsed else 0.0
    result["model_version"] = dedup.MODEL_VERSION
    result["threshold"] = threshold
    by_lang: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_lang[row.get("lang") or "?"].append(index)
    result["per_lang"] = {}
    for lang, indices in sorted(by_lang.items()):
        members = set(indices)
        lang_predicted = {pair for pair in predicted if pair[0] in members and pair[1] in members}
        # Rows of other languages get clusters of their own, so only this language's pairs count.
        lang_clusters = [clusters[i] if i in members else f"\0{i}" for i in range(len(rows))]
        scores = pair_scores(lang_clusters, lang_predicted)
        figures = {key: scores[key] for key in ("pairs_true", "precision", "recall", "f1")}
        result["per_lang"][lang] = {"n": len(indices), **figures}
    if errors:
        _print_errors(rows, signatures, candidates, predicted, similarity, errors)
    return result


SUMMARY_KEYS = ("n", "pairs_true", "precision", "recall", "f1", "false_merges", "docs_per_second")


def run(args) -> int:
    threshold = dedup.DUPLICATE_THRESHOLD if args.threshold is None else args.threshold
    rows = [row for row in read_jsonl(args.data, limit=args.limit) if row.get("text") and row.get("cluster")]
    result = score(rows, threshold, args.errors)
    if args.json:
        print(orjson.dumps({k: v for k, v in result.items() if k not in SUMMARY_KEYS}).decode())
        print(orjson.dumps({k: result[k] for k in SUMMARY_KEYS}).decode())
    else:
        for key, value in result.items():
            if key != "per_lang":
                print(f"{key}: {value}")
        for lang, figures in result["per_lang"].items():
            print(f"  {lang}: " + " ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


def _print_errors(rows, signatures, candidates, predicted, similarity, limit: int) -> None:
    false_merges = sorted((p for p in predicted if rows[p[0]]["cluster"] != rows[p[1]]["cluster"]), key=similarity.get)
    for i, j in false_merges[-limit:]:
        print(f"false merge {similarity[(i, j)]:.3f}: {rows[i]['id']} ~ {rows[j]['id']}")
    by_cluster: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_cluster[row["cluster"]].append(index)
    missed = [
        (dedup.similarity(signatures[i], signatures[j]), i, j, (i, j) in candidates)
        for indices in by_cluster.values()
        for i, j in combinations(indices, 2)
        if (i, j) not in predicted
    ]
    for value, i, j, was_candidate in sorted(missed, reverse=True)[:limit]:
        edits = rows[j].get("edits")
        print(f"missed {value:.3f} (candidate={was_candidate}): {rows[i]['id']} ~ {rows[j]['id']} {edits}")
