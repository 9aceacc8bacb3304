"""Article extraction quality: the clean stage's body against each page's gold text or snippets.

Rows with `gold_text`: bag-of-tokens precision, recall and F1 per page (tokens are `\\w+` runs, lower-cased,
multiset overlap), averaged over pages. Rows with `must_include`/`must_exclude` instead: the share of snippets
found (include_recall) and the share of boilerplate snippets kept out (exclude_avoided), over all snippets.
`--input text` feeds each row's `derived_page_text` as text/plain instead of its HTML.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter, defaultdict

import orjson

from workers.datasets import read_jsonl
from workers.stages.clean import CleanError, clean

_TOKEN = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")


def add_arguments(parser) -> None:
    parser.add_argument("--input", choices=("html", "text"), default="html", help="page shape fed to the cleaner")
    parser.add_argument("--baseline", choices=("trafilatura",), default=None, help="also score plain trafilatura.extract(html)")
    parser.add_argument("--worst", type=int, default=0, help="print the N pages with the lowest F1")


def tokens(text: str) -> Counter:
    return Counter(_TOKEN.findall(text.lower()))


def bag_of_tokens_scores(predicted: str, gold: str) -> tuple[float, float, float]:
    predicted_tokens, gold_tokens = tokens(predicted), tokens(gold)
    if not predicted_tokens and not gold_tokens:
        return 1.0, 1.0, 1.0
    overlap = sum((predicted_tokens & gold_tokens).values())
    precision = overlap / sum(predicted_tokens.values()) if predicted_tokens else 0.0
    recall = overlap / sum(gold_tokens.values()) if gold_tokens else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _comparable(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


class Scores:
    """Running totals for one extractor over a data set."""

    def __init__(self):
        self.pages = defaultdict(list)  # lang -> [(precision, recall, f1)]
        self.snippets = Counter()  # included, include_total, avoided, exclude_total
        self.seconds = 0.0
        self.count = 0
        self.worst = []  # (f1, row id)

    def add(self, row: dict, body: str, seconds: float) -> None:
        self.seconds += seconds
        self.count += 1
        if row.get("gold_text") is not None:
            precision, recall, f1 = bag_of_tokens_scores(body, row["gold_text"])
            self.pages[row.get("lang") or "und"].append((precision, recall, f1))
            self.worst.append((f1, row.get("id")))
            return
        text = _comparable(body)
        includes = [snippet for snippet in row.get("must_include") or [] if snippet]
        excludes = [snippet for snippet in row.get("must_exclude") or [] if snippet]
        self.snippets["included"] += sum(_comparable(snippet) in text for snippet in includes)
        self.snippets["include_total"] += len(includes)
        self.snippets["avoided"] += sum(_comparable(snippet) not in text for snippet in excludes)
        self.snippets["exclude_total"] += len(excludes)

    @staticmethod
    def _averages(triples: list[tuple[float, float, float]]) -> dict:
        n = len(triples)
        return {
            "n": n,
            "precision": round(sum(t[0] for t in triples) / n, 4),
            "recall": round(sum(t[1] for t in triples) / n, 4),
            "f1": round(sum(t[2] for t in triples) / n, 4),
        }

    def summary(self) -> dict:
        result: dict = {"n": self.count}
        all_pages = [triple for triples in self.pages.values() for triple in triples]
        if all_pages:
            result.update({key: value for key, value in self._averages(all_pages).items() if key != "n"})
        if self.snippets["include_total"] or self.snippets["exclude_total"]:
            result["include_recall"] = round(self.snippets["included"] / max(self.snippets["include_total"], 1), 4)
            result["exclude_avoided"] = round(self.snippets["avoided"] / max(self.snippets["exclude_total"], 1), 4)
        result["pages_per_second"] = round(self.count / self.seconds, 2) if self.seconds else 0.0
        if all_pages:
            result["per_lang"] = {lang: self._averages(self.pages[lang]) for lang in sorted(self.pages)}
        return result


def _ours(row: dict, input_shape: str) -> str:
    try:
        if input_shape == "text":
            return clean(row.get("derived_page_text") or "", "text/plain", row.get("url")).body
        return clean(row.get("html") or "", "text/html", row.get("url")).body
    except CleanError:
        return ""


def _trafilatura(row: dict) -> str:
    import trafilatura

    return trafilatura.extract(row.get("html") or "") or ""


def _timed(function, *arguments) -> tuple[str, float]:
    started = time.perf_counter()
    body = function(*arguments)
    return body, time.perf_counter() - started


def _format(name: str, summary: dict) -> str:
    figures = [f"n={summary['n']}"]
    figures += [f"{key}={summary[key]:.4f}" for key in ("precision", "recall", "f1", "include_recall", "exclude_avoided") if key in summary]
    figures.append(f"pages/s={summary['pages_per_second']}")
    return f"{name}: " + " ".join(figures)


def run(args) -> int:
    ours, baseline = Scores(), Scores() if args.baseline else None
    for row in read_jsonl(args.data, limit=args.limit):
        if row.get("gold_text") is None and not (row.get("must_include") or row.get("must_exclude")):
            continue
        body, seconds = _timed(_ours, row, args.input)
        ours.add(row, body, seconds)
        if baseline is not None:
            body, seconds = _timed(_trafilatura, row)
            baseline.add(row, body, seconds)
    result = ours.summary()
    if baseline is not None:
        result["baseline"] = {"name": args.baseline, **baseline.summary()}
    print(_format("newswire", result))
    for lang, figures in result.get("per_lang", {}).items():
        print(f"  {lang}: n={figures['n']} P={figures['precision']:.4f} R={figures['recall']:.4f} F1={figures['f1']:.4f}")
    if baseline is not None:
        print(_format(args.baseline, result["baseline"]))
    for f1, row_id in sorted(ours.worst, key=lambda pair: pair[0])[: args.worst]:
        print(f"  worst: f1={f1:.4f} id={row_id}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
