"""Score the topic classifier (world | tech | politics | other) on a labelled topic_* file.

Input per row: `title` + `text` where present; rows whose `label` is null are skipped. `--held-out` keeps only
the rows the trainer held out of that file (the fixed hash split), for files the shipped model was trained on.
`--stories FIELD`: rows with the same non-empty FIELD (e.g. `flores_index_id`, parallel sentences) are tellings
of one story; the result also scores every row under its story's category, as the index stage files it
(story.story_topic, the mean of the tellings' distributions), and the share of stories whose tellings agree.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson

from workers.datasets import read_jsonl
from workers.stages import classify as classify_stage
from workers.stages import embedding as embedding_stage
from workers.stages import story

BATCH = 32  # the stream stage's batch size


def add_arguments(parser) -> None:
    parser.add_argument("--held-out", action="store_true", help="score only the trainer's held-out rows of this file")
    parser.add_argument("--stories", metavar="FIELD", default="",
                        help="rows sharing this field's value are tellings of one story: also score story categories")


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


CALIBRATION_BINS = 10


def expected_calibration_error(gold: list[str], predicted: list[str], confidences: list[float]) -> float:
    """Top-label ECE: the gap between confidence and accuracy, averaged over 10 equal-width confidence bins,
    weighted by their rows. 0 is perfectly calibrated."""
    total, error = len(gold), 0.0
    for low in np.linspace(0.0, 1.0, CALIBRATION_BINS, endpoint=False):
        members = [i for i, c in enumerate(confidences) if low < c <= low + 1.0 / CALIBRATION_BINS]
        if members:
            accuracy = sum(gold[i] == predicted[i] for i in members) / len(members)
            confidence = sum(confidences[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - confidence)
    return error


def summarise(gold: list[str], predicted: list[str], langs: list[str], confidences: list[float] | None = None) -> dict:
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
    summary = {
        "n": len(gold),
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted)) / len(gold), 4) if gold else 0.0,
        "macro_f1": round(macro, 4),
        "per_label": per_label,
        "per_lang": per_lang,
    }
    if confidences is not None and gold:
        summary["ece"] = round(expected_calibration_error(gold, predicted, confidences), 4)
    return summary


def labelled_rows(path: str | Path, limit: int | None = None, held_out_only: bool = False) -> list[dict]:
    from workers.training.topics import is_held_out  # the trainer owns the split

    rows = [row for row in read_jsonl(path, limit=limit) if row.get("label")]
    return [row for row in rows if is_held_out(row)] if held_out_only else rows


def story_scores(rows: list[dict], topics: list, field: str) -> dict:
    """Rows scored under their story's category (stories of two or more tellings; `stories` counts them);
    `agreement_pages` is the share of them whose tellings get one label page by page (filed by story, all do)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row.get(field) not in (None, ""):
            groups[str(row[field])].append(i)
    labels = [topic.label for topic in topics]
    scores = [topic.score for topic in topics]
    told = [members for members in groups.values() if len(members) > 1]
    for members in told:
        mean = story.story_topic([topics[i].probabilities for i in members])
        label = story.story_label(mean)
        for i in members:
            labels[i], scores[i] = label, mean[label]
    result = summarise([row["label"] for row in rows], labels, [row.get("lang") or "?" for row in rows], scores)
    result["stories"] = len(told)
    result["agreement_pages"] = round(sum(len({topics[i].label for i in m}) == 1 for m in told) / len(told), 4) if told else None
    return result


def evaluate(rows: list[dict], stories_field: str = "") -> dict:
    classify_stage.load_model()  # load the models outside the timed loop
    embedding_stage.embed_pages([("warm-up", "")])
    start = time.perf_counter()
    # The classify worker embeds a stage batch at once; so does this loop.
    vectors = np.vstack([embedding_stage.embed_pages([(row.get("title"), row.get("text")) for row in rows[i : i + BATCH]])
                         for i in range(0, len(rows), BATCH)])
    # A row's `url` and `section`, where the data set has them, are given as the clean stage gives them in
    # production: the classifier uses them as hints.
    topics = [
        classify_stage.classify(row.get("title") or "", row.get("text") or "", row.get("lang") or "",
                                section=row.get("section"), url=row.get("url"), embedding=vector)
        for row, vector in zip(rows, vectors)
    ]
    elapsed = time.perf_counter() - start
    result = summarise([row["label"] for row in rows], [topic.label for topic in topics],
                       [row.get("lang") or "?" for row in rows], [topic.score for topic in topics])
    result["docs_per_second"] = round(len(rows) / elapsed, 1) if elapsed > 0 else 0.0
    if stories_field:
        result["story"] = story_scores(rows, topics, stories_field)
    return result


def run(args) -> int:
    rows = labelled_rows(args.data, args.limit, args.held_out)
    if not rows:
        print("no labelled rows")
        return 1
    result = evaluate(rows, args.stories)
    print(f"{args.data}: n={result['n']} accuracy={result['accuracy']:.4f} macro_f1={result['macro_f1']:.4f} "
          f"ece={result['ece']:.4f} docs/s={result['docs_per_second']} (encoder included)")
    for label, scores in result["per_label"].items():
        print(f"  {label:9s} P={scores['precision']:.3f} R={scores['recall']:.3f} F1={scores['f1']:.3f} n={scores['n']}")
    for lang, scores in result["per_lang"].items():
        print(f"  [{lang}] n={scores['n']} accuracy={scores['accuracy']:.4f} macro_f1={scores['macro_f1']:.4f}")
    if "story" in result:
        filed = result["story"]
        print(f"  filed by story ({filed['stories']} stories of 2+ tellings, {args.stories}): macro_f1={filed['macro_f1']:.4f}, "
              f"tellings agreeing page by page {filed['agreement_pages']}; "
              + ", ".join(f"[{lang}] {v['macro_f1']:.4f}" for lang, v in filed["per_lang"].items()))
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
