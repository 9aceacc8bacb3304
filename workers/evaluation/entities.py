"""Named entities: exact span and type micro P/R/F1 over PER, ORG and LOC on a tokenised NER file.

Input is each row's `tokens`, tagged as the enrich stage tags the sentences of a page (the tagger as the
`entity_tagger` setting chooses it, then the page pass, workers.stages.enrich.tagging.repeat_page_names); gold is
its `entities`. The NER files are sentences without page boundaries, in the order of their documents, so the eval
makes pages of consecutive sentence ids (PAGE_IDS ids of one language and id prefix: `conll-en-test-0` to `-79`
is one page); `sentence_level` gives the same rows tagged each alone, without the page pass.
With --held-out only the rows the trainer kept out of training are scored (dev splits, one IJCNLP-08
row in ten, see workers/training/entities.py), so a training file can be used for measuring.
Predictions are put into a set's documented annotation form before scoring (SET_CONVENTIONS: IJCNLP-08 merges
adjacent same-type entities).
"""

from __future__ import annotations

import re
import time
from collections import Counter

import orjson

from workers.datasets import read_jsonl
from workers.stages.enrich import MODEL_VERSIONS, model_version
from workers.stages.enrich.tagging import repeat_page_names, tag_sentences
from workers.stages.enrich.model import TAGGERS, context_gate
from workers.training.entities import is_heldout

TYPES = ("PER", "ORG", "LOC")


def add_arguments(parser) -> None:
    parser.add_argument("--held-out", action="store_true", help="score only the rows the trainer held out of this file")
    parser.add_argument("--lang", default=None, help="score only rows of this language")
    parser.add_argument("--tagger", choices=TAGGERS, default=None,
                        help="context, context-deva or crf (default: the entity_tagger setting, as the enrich stage runs)")
    parser.add_argument("--context-gate", type=float, default=None,
                        help="the context gate, 1 = every sentence through the encoder (default: the "
                             "entity_context_gate setting)")


def _scores(true_positive: int, predicted: int, gold: int) -> dict:
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": gold}


# Sentences tagged together: the encoder batches them (whole pages, one language per batch, as a page has one).
BATCH_ROWS = 256
# A page of the eval: 80 consecutive ids, about 40 sentences of a file's half (an article's length). Chosen on
# development rows only (CoNLL dev with a model fitted on CoNLL train, IL-NER dev): 20 / 40 / 80 ids gave
# 0.8781 / 0.8785 / 0.8784 on CoNLL dev (0.8750 alone) and 0.766 / 0.769 / 0.771 on IL-NER dev (0.756 alone).
PAGE_IDS = 80
_NUMBERED_ID = re.compile(r"(.*?)(\d+)")


def _pages(rows: list[dict]) -> list[list[int]]:
    """Row indices grouped into pages; a row whose id has no number is a page of its own."""
    pages: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        numbered = _NUMBERED_ID.fullmatch(str(row.get("id", "")))
        key = (row["lang"], numbered[1], int(numbered[2]) // PAGE_IDS) if numbered else (row["lang"], i)
        pages.setdefault(key, []).append(i)
    return list(pages.values())


def _tag_rows(rows: list[dict], tagger: str | None, gate: float | None = None) -> tuple[list[list[tuple]], list[list[tuple]]]:
    """Spans (start, end, type) of every row: tagged alone, and as a sentence of its page."""
    alone: list = [None] * len(rows)
    on_page: list = [None] * len(rows)
    batches: dict[str, list[list[int]]] = {}
    for page in _pages(rows):
        lang_batches = batches.setdefault(rows[page[0]]["lang"], [[]])
        if lang_batches[-1] and len(lang_batches[-1]) + len(page) > BATCH_ROWS:
            lang_batches.append([])
        lang_batches[-1].append(page)
    for lang, lang_batches in batches.items():
        for batch in lang_batches:
            indices = [i for page in batch for i in page]
            spans = dict(zip(indices, tag_sentences([rows[i]["tokens"] for i in indices], lang, tagger, gate=gate)))
            for page in batch:
                completed = repeat_page_names([rows[i]["tokens"] for i in page], [spans[i] for i in page])
                for i, page_spans in zip(page, completed):
                    alone[i] = [(s.start, s.end, s.type) for s in spans[i]]
                    on_page[i] = [(s.start, s.end, s.type) for s in page_spans]
    return alone, on_page


def merge_adjacent(spans: list[tuple]) -> list[tuple]:
    """Adjacent spans of one type as one span: IJCNLP-08's tags had no B-/I- prefixes, so its gold merges
    adjacent same-type entities (../shared/data/README.md), and a prediction is scored in the same form."""
    merged: list[tuple] = []
    for start, end, entity_type in sorted(spans):
        if merged and merged[-1][1] == start and merged[-1][2] == entity_type:
            merged[-1] = (merged[-1][0], end, entity_type)
        else:
            merged.append((start, end, entity_type))
    return merged


# A data set's annotation conventions that predictions are put into before scoring, by row id prefix.
SET_CONVENTIONS = {"ijcnlp08-": merge_adjacent}


def _in_set_convention(row: dict, spans: list[tuple]) -> list[tuple]:
    for prefix, convention in SET_CONVENTIONS.items():
        if row["id"].startswith(prefix):
            return convention(spans)
    return spans


def _count(selected: list[dict], tagged: list[list[tuple]]) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """True positives, predicted and gold spans overall and per type (first), per language (second)."""
    counts = {"all": Counter(), **{t: Counter() for t in TYPES}}
    per_lang: dict[str, Counter] = {}
    for row, spans in zip(selected, tagged, strict=True):
        predicted = {(s, e, t) for s, e, t in _in_set_convention(row, spans) if t in TYPES}
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
    return counts, per_lang


def _score(bucket: Counter) -> dict:
    return _scores(bucket["tp"], bucket["predicted"], bucket["gold"])


def run(args) -> int:
    selected = [row for row in read_jsonl(args.data, limit=args.limit)
                if not (args.held_out and not is_heldout(row)) and not (args.lang and row["lang"] != args.lang)]
    started = time.perf_counter()
    alone, on_page = _tag_rows(selected, args.tagger, args.context_gate)
    elapsed = time.perf_counter() - started
    counts, per_lang = _count(selected, on_page)
    alone_counts, alone_per_lang = _count(selected, alone)
    result = {
        "n": len(selected),
        **{k: v for k, v in _score(counts["all"]).items() if k != "support"},
        "per_type": {t: _score(counts[t]) for t in TYPES},
        "per_lang": {lang: _score(bucket) for lang, bucket in sorted(per_lang.items())},
        "sentence_level": {
            **{k: v for k, v in _score(alone_counts["all"]).items() if k != "support"},
            "per_lang": {lang: _score(bucket)["f1"] for lang, bucket in sorted(alone_per_lang.items())},
        },
        "page_ids": PAGE_IDS,
        "sentences_per_second": round(len(selected) / elapsed, 1) if elapsed else None,
        "model_version": MODEL_VERSIONS[args.tagger] if args.tagger else model_version(),
        "context_gate": context_gate() if args.context_gate is None else args.context_gate,
    }
    if not args.json:
        alone_f1 = result["sentence_level"]["f1"]
        print(f"{args.data}: n={result['n']} P={result['precision']:.4f} R={result['recall']:.4f} "
              f"F1={result['f1']:.4f} (sentences alone {alone_f1:.4f})")
        for entity_type, figures in result["per_type"].items():
            p, r, f = figures["precision"], figures["recall"], figures["f1"]
            print(f"  {entity_type}: P={p:.4f} R={r:.4f} F1={f:.4f} (n={figures['support']})")
        for lang, figures in result["per_lang"].items():
            print(f"  [{lang}] F1={figures['f1']:.4f} (n={figures['support']})")
    print(orjson.dumps(result).decode())
    return 0
