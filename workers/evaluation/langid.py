"""Language identification accuracy: detect_language on each row's text against its `lang`.

The text is `text`, else `gold_text` (extraction sets), else the joined `tokens` (NER sets).
Codes are compared on the base language ("zh-cn" counts as "zh"; "nb"/"nn" as "no").
"""

from __future__ import annotations

import time
from collections import Counter

import orjson

from workers.datasets import read_jsonl
from workers.stages.language import detect_language

_MACRO_LANGUAGES = {"nb": "no", "nn": "no"}


def add_arguments(parser) -> None:
    parser.add_argument("--errors", type=int, default=0, help="print the N most frequent confusions")


def base_code(code: str) -> str:
    base = code.lower().split("-")[0]
    return _MACRO_LANGUAGES.get(base, base)


def row_text(row: dict) -> str | None:
    if row.get("text"):
        return row["text"]
    if row.get("gold_text"):
        return row["gold_text"]
    if row.get("tokens"):
        return " ".join(row["tokens"])
    return None


def run(args) -> int:
    total, correct, confusions = Counter(), Counter(), Counter()
    started = time.perf_counter()
    for row in read_jsonl(args.data, limit=args.limit):
        text = row_text(row)
        if not text or not row.get("lang"):
            continue
        gold = base_code(row["lang"])
        predicted = base_code(detect_language(text).code)
        total[gold] += 1
        if predicted == gold:
            correct[gold] += 1
        else:
            confusions[(gold, predicted)] += 1
    elapsed = time.perf_counter() - started
    n = sum(total.values())
    result = {
        "n": n,
        "accuracy": round(sum(correct.values()) / n, 4) if n else 0.0,
        "texts_per_second": round(n / elapsed, 1) if elapsed else 0.0,
        "per_lang": {lang: {"n": total[lang], "accuracy": round(correct[lang] / total[lang], 4)} for lang in sorted(total)},
    }
    if args.errors:
        for (gold, predicted), count in confusions.most_common(args.errors):
            print(f"{gold} -> {predicted}: {count}")
    if args.json:
        print(orjson.dumps(result).decode())
    else:
        print(f"n={n} accuracy={result['accuracy']:.4f} texts/s={result['texts_per_second']}")
        for lang, figures in result["per_lang"].items():
            print(f"  {lang}: n={figures['n']} accuracy={figures['accuracy']:.4f}")
    return 0
