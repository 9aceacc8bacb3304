"""Score the topic classifier (world | tech | politics | other) on a labelled topic_* file.

Input per row: `title` + `text` where present; rows whose `label` is null are skipped. `--held-out` keeps only
the rows the trainer held out of that file (the fixed hash split), for files the shipped model was trained on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import orjson

from workers.datasets import read_jsonl
from workers.stages import classify as classify_stage


def add_arguments(parser) -> None:
    parser.add_argument("--held-out", action="store_true", help="score only the trainer's held-out rows of this file")


def macro_scores(gold: list[str], predicted: list[str]) -> tuple[float, dict[str, dict]]:
    """Macro-F1 over the labels present in the gold data, and per-label precision/recall/F1."""
    per_label: dict[str, dict] = {}
    for label in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        n_pred = sum(1 for p in predicted if p == label)
        n_gold = sum(1 for g in gold if g == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "n": n_gold}
    macro = sum(v["f1"] for v in per_label.values()) / len(per_label) if per_label else 0.0
    return macro, per_label


def summarise(gold: list[str], predicted: list[str], langs: list[str]) -> dict:
    macro, per_label = macro_scores(gold, predicted)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(langs):
        by_lang[lang].append(i)
    per_lang = {}
    for lang, rows in sorted(by_lang.items()):
        lang_gold = [gold[i] for i in rows]
        lang_pred = [predicted[i] for i in rows]
        lang_macro, _ = macro_scores(lang_gold, lang_pred)
        per_lang[lang] = {
            "n": len(rows),
            "accuracy": round(sum(g == p for g, p in zip(lang_gold, lang_pred)) / len(rows), 4),
            "macro_f1": round(lang_macro, 4),
        }
    return {
        "n": len(gold),
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted)) / len(gold), 4) if gold else 0.0,
        "macro_f1": round(macro, 4),
        "per_label": per_label,
        "per_lang": per_lang,
    }


def labelled_rows(path: str | Path, limit: int | None = None, held_out_only: bool = False) -> list[dict]:
    from workers.training.topics import is_held_out  # the trainer owns the split

    rows = [row for row in read_jsonl(path, limit=limit) if row.get("label")]
    return [row for row in rows if is_held_out(row)] if held_out_only else rows


def evaluate(rows: list[dict]) -> dict:
    classify_stage.load_model()  # load both models outside the timed loop
    classify_stage.encode(["warm-up"])
    start = time.perf_counter()
    # A row's `url` and `section`, where the data set has them, are given as the clean stage gives them in
    # production: the classifier uses them as hints.
    predicted = [
        classify_stage.classify(row.get("title") or "", row.get("text") or "", row.get("lang") or "",
                                section=row.get("section"), url=row.get("url")).label
        for row in rows
    ]
    elapsed = time.perf_counter() - start
    result = summarise([row["label"] for row in rows], predicted, [row.get("lang") or "?" for row in rows])
    result["docs_per_second"] = round(len(rows) / elapsed, 1) if elapsed > 0 else 0.0
    return result


def run(args) -> int:
    rows = labelled_rows(args.data, args.limit, args.held_out)
    if not rows:
        print("no labelled rows")
        return 1
    result = evaluate(rows)
    print(f"{args.data}: n={result['n']} accuracy={result['accuracy']:.4f} macro_f1={result['macro_f1']:.4f} "
          f"docs/s={result['docs_per_second']}")
    for label, scores in result["per_label"].items():
        print(f"  {label:9s} P={scores['precision']:.3f} R={scores['recall']:.3f} F1={scores['f1']:.3f} n={scores['n']}")
    for lang, scores in result["per_lang"].items():
        print(f"  [{lang}] n={scores['n']} accuracy={scores['accuracy']:.4f} macro_f1={scores['macro_f1']:.4f}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
