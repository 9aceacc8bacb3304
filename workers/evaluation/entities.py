"""Named entities: exact span and type micro P/R/F1 over PER, ORG and LOC on a tokenised NER file.

Input is each row's `tokens` (through workers.stages.enrich.tag_token_batches, the enrich stage's tagger as the
`entity_tagger` setting chooses it), gold is its `entities`.
With --held-out only the rows the trainer kept out of training are scored (dev splits, one IJCNLP-08
row in ten, see workers/training/entities.py), so a training file can be used for measuring.
"""

from __future__ import annotations

import time
from collections import Counter

import orjson

from workers.datasets import read_jsonl
from workers.stages.enrich import MODEL_VERSIONS, model_version, tag_token_batches
from workers.stages.enrich.model import TAGGERS
from workers.training.entities import is_heldout

TYPES = ("PER", "ORG", "LOC")


def add_arguments(parser) -> None:
    parser.add_argument("--held-out", action="store_true", help="score only the rows the trainer held out of this file")
    parser.add_argument("--lang", default=None, help="score only rows of this language")
    parser.add_argument("--tagger", choices=TAGGERS, default=None,
                        help="context, context-deva or crf (default: the entity_tagger setting, as the enrich stage runs)")


def _scores(true_positive: int, predicted: int, gold: int) -> dict:
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": gold}


# Rows tagged together: the encoder batches their sentences (one language per batch, as a page has one).
BATCH_ROWS = 256


def _tag_rows(rows: list[dict], tagger: str | None) -> list[list[tuple[int, int, str]]]:
    tagged: list = [None] * len(rows)
    by_lang: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_lang.setdefault(row["lang"], []).append(i)
    for lang, indices in by_lang.items():
        for start in range(0, len(indices), BATCH_ROWS):
            chunk = indices[start : start + BATCH_ROWS]
            for i, spans in zip(chunk, tag_token_batches([rows[i]["tokens"] for i in chunk], lang, tagger)):
                tagged[i] = spans
    return tagged


def run(args) -> int:
    counts = {"all": Counter(), **{t: Counter() for t in TYPES}}
    per_lang: dict[str, Counter] = {}
    rows = 0
    selected = [row for row in read_jsonl(args.data, limit=args.limit)
                if not (args.held_out and not is_heldout(row)) and not (args.lang and row["lang"] != args.lang)]
    started = time.perf_counter()
    tagged = _tag_rows(selected, args.tagger)
    elapsed = time.perf_counter() - started
    for row, spans in zip(selected, tagged, strict=True):
        rows += 1
        predicted = {(s, e, t) for s, e, t in spans if t in TYPES}
        gold = {(e["start"], e["end"], e["type"]) for e in row["entities"] if e["type"] in TYPES}
        lang = per_lang.setdefault(row["lang"], Counter())
        for bucket in (counts["all"], lang):
            bucket["tp"] += len(predicted & gold)
            bucket["predicted"] += len(predicted)
            bucket["gold"] += len(gold)
        for entity_type in TYPES:
            p = {x for x in predicted if x[2] == entity_type}
            g = {x for x in gold if x[2] == entity_type}
            counts[entity_type].update(tp=len(p & g), predicted=len(p), gold=len(g))

    def score(bucket: Counter) -> dict:
        return _scores(bucket["tp"], bucket["predicted"], bucket["gold"])

    result = {
        "n": rows,
        **{k: v for k, v in score(counts["all"]).items() if k != "support"},
        "per_type": {t: score(counts[t]) for t in TYPES},
        "per_lang": {lang: score(bucket) for lang, bucket in sorted(per_lang.items())},
        "sentences_per_second": round(rows / elapsed, 1) if elapsed else None,
        "model_version": MODEL_VERSIONS[args.tagger] if args.tagger else model_version(),
    }
    if not args.json:
        print(f"{args.data}: n={rows} P={result['precision']:.4f} R={result['recall']:.4f} F1={result['f1']:.4f}")
        for entity_type, figures in result["per_type"].items():
            p, r, f = figures["precision"], figures["recall"], figures["f1"]
            print(f"  {entity_type}: P={p:.4f} R={r:.4f} F1={f:.4f} (n={figures['support']})")
        for lang, figures in result["per_lang"].items():
            print(f"  [{lang}] F1={figures['f1']:.4f} (n={figures['support']})")
    print(orjson.dumps(result).decode())
    return 0
