"""Article extraction quality: the clean stage's body against each page's gold text or snippets.

Rows with `gold_text`: bag-of-tokens precision, recall and F1 per page (tokens are `\\w+` runs, lower-cased,
multiset overlap), averaged over pages. Rows with `must_include`/`must_exclude` instead: the share of snippets
found (include_recall) and the share of boilerplate snippets kept out (exclude_avoided), over all snippets.
`--input text` feeds each row's text scrape as text/plain instead of its HTML: its `derived_page_text`, or for a
set without one a naive tag-strip of its HTML in the same shape (`tag_strip`). `--baseline trafilatura` scores
plain `trafilatura.extract(html)` on the same rows, `--baseline text-rules` the text cleaner's line rules alone
(without the learnt line scorer) on the same scrapes.

`--cv K` scores the HTML path with its safety-net thresholds chosen by grouped cross-validation: the rows are
split into K folds by URL host (no site in two folds), the thresholds for each fold are chosen on the other
folds only, and the figures reported are those of every row under the thresholds chosen without its site.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
import unicodedata
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import orjson

from workers.datasets import read_jsonl
from workers.stages.clean import CleanError, clean
from workers.stages.clean.html import net_candidates, parse_html
from workers.stages.clean.normalize import join_paragraphs, sanitise
from workers.stages.clean.text import rule_body, scrape_lines
from workers.stages.clean.safety_net import SafetyNet

_TOKEN = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")


def add_arguments(parser) -> None:
    parser.add_argument("--input", choices=("html", "text"), default="html", help="page shape fed to the cleaner")
    parser.add_argument("--baseline", choices=("trafilatura", "text-rules"), default=None,
                        help="also score plain trafilatura.extract(html), or (with --input text) the text cleaner's rules alone")
    parser.add_argument("--worst", type=int, default=0, help="print the N pages with the lowest F1")
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="HTML only: choose the safety net's thresholds by K-fold cross-validation grouped by URL host")


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


_BLOCK_TAGS = frozenset((
    "address article aside blockquote body br caption dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol option p pre section select table td textarea th "
    "title tr ul button label"
).split())
_SKIPPED_TAGS = frozenset(("script", "style", "noscript", "template", "head"))


def tag_strip(html: str) -> str:
    """A naive text scrape of a page: its <title>, then every text of the body, one line per block element,
    navigation and link lists left in (the shape of fundus's `derived_page_text`)."""
    tree = parse_html(html)
    if tree is None:
        return ""
    parts: list[str] = []

    def walk(element) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is None or tag in _SKIPPED_TAGS:
            if element.tail:
                parts.append(element.tail)
            return
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        if element.tail:
            parts.append(element.tail)

    walk(tree)
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    return "\n\n".join([" ".join((tree.findtext(".//title") or "").split())] + [line for line in lines if line])


def text_scrape(row: dict) -> str:
    """The row's text scrape: its own `derived_page_text`, else a tag-strip of its HTML."""
    return row.get("derived_page_text") or tag_strip(row.get("html") or "")


def _ours(row: dict, input_shape: str) -> str:
    try:
        if input_shape == "text":
            return clean(text_scrape(row), "text/plain", row.get("url")).body
        return clean(row.get("html") or "", "text/html", row.get("url")).body
    except CleanError:
        return ""


def _trafilatura(row: dict) -> str:
    import trafilatura

    return trafilatura.extract(row.get("html") or "") or ""


def _text_rules(row: dict) -> str:
    _, lines, _ = scrape_lines(text_scrape(row))
    return join_paragraphs(rule_body(lines))


BASELINES = {"trafilatura": _trafilatura, "text-rules": _text_rules}


def _timed(function, *arguments) -> tuple[str, float]:
    started = time.perf_counter()
    body = function(*arguments)
    return body, time.perf_counter() - started


def _format(name: str, summary: dict) -> str:
    figures = [f"n={summary['n']}"]
    figures += [f"{key}={summary[key]:.4f}" for key in ("precision", "recall", "f1", "include_recall", "exclude_avoided") if key in summary]
    if "pages_per_second" in summary:
        figures.append(f"pages/s={summary['pages_per_second']}")
    return f"{name}: " + " ".join(figures)


# The safety-net settings cross-validation chooses among; share 0 fires on empty bodies only.
NET_GRID = [SafetyNet(share, ratio) for share, ratio in itertools.product((0.0, 0.1, 0.15, 0.25, 0.35, 0.5), (1.25, 1.5, 2.0, 3.0))]
# The net's second extraction may run on at most this share of the training pages: the speed budget, set
# from the speed target, not tuned on quality. A second extraction costs 10-50 ms (40 ms on the large pages
# where it mostly fires), about twice our whole average per page; on the snippet set, the tightest, our
# margin over 1.5x trafilatura's speed is about 3 %, so the net may fire on about 1 % of pages.
NET_MAX_FIRING_SHARE = 0.01
# A page is lost when we score below LOST_BELOW while plain trafilatura reaches BASELINE_FOUND.
LOST_BELOW, BASELINE_FOUND = 0.5, 0.9


def _is_lost(row: dict, body: str, baseline_body: str) -> bool:
    if row.get("gold_text") is None:
        return False
    return (bag_of_tokens_scores(body, row["gold_text"])[2] < LOST_BELOW
            and bag_of_tokens_scores(baseline_body, row["gold_text"])[2] >= BASELINE_FOUND)


def host_of(row: dict) -> str:
    host = (urlsplit(row.get("url") or "").hostname or "").lower()
    return host.removeprefix("www.") or f"no-host:{row.get('id')}"


def host_folds(rows: list[dict], k: int) -> list[int]:
    """Fold number of each row: whole hosts to folds, largest host first into the emptiest fold (ties broken
    by a hash of the host name, so the split does not follow the data's order)."""
    counts = Counter(host_of(row) for row in rows)
    sizes, fold_of_host = [0] * k, {}
    for host in sorted(counts, key=lambda h: (-counts[h], hashlib.sha256(h.encode()).hexdigest())):
        fold = min(range(k), key=lambda f: (sizes[f], f))
        fold_of_host[host] = fold
        sizes[fold] += counts[host]
    return [fold_of_host[host_of(row)] for row in rows]


def _row_quality(row: dict, body: str) -> tuple[float, ...]:
    """What a body is worth on one row: (F1,) for gold rows, snippet counts for snippet rows."""
    if row.get("gold_text") is not None:
        return (bag_of_tokens_scores(body, row["gold_text"])[2],)
    text = _comparable(body)
    includes = [snippet for snippet in row.get("must_include") or [] if snippet]
    excludes = [snippet for snippet in row.get("must_exclude") or [] if snippet]
    return (sum(_comparable(s) in text for s in includes), len(includes),
            sum(_comparable(s) not in text for s in excludes), len(excludes))


def _objective(qualities: list[tuple[float, ...]]) -> float:
    """Mean F1 over gold rows, or the mean of include recall and exclude avoided over snippet rows."""
    gold = [q[0] for q in qualities if len(q) == 1]
    snippets = [q for q in qualities if len(q) == 4]
    value = sum(gold) / len(gold) if gold else 0.0
    if snippets:
        included, include_total, avoided, exclude_total = (sum(q[i] for q in snippets) for i in range(4))
        value += (included / max(include_total, 1) + avoided / max(exclude_total, 1)) / 2
    return round(value, 4)


def _choose_net(indices: list[int], outcomes: list[dict]) -> SafetyNet:
    """The most protective setting (largest share, then smallest ratio) among those with the best objective
    on `indices` that fire on at most NET_MAX_FIRING_SHARE of them: on pages where the net changes nothing,
    protection is free, and the net exists for pages unlike these."""
    best = None
    for net in NET_GRID:
        fired = sum(outcomes[i]["fired"][net] for i in indices)
        if fired > NET_MAX_FIRING_SHARE * len(indices):
            continue
        key = (_objective([outcomes[i]["quality"][net] for i in indices]), net.share, -net.ratio)
        if best is None or key > best[0]:
            best = (key, net)
    return best[1]


def _net_outcomes(row: dict) -> dict:
    candidates = net_candidates(sanitise(row.get("html") or ""), row.get("url"))
    ours_quality, second_quality = _row_quality(row, candidates.ours_body), _row_quality(row, candidates.second_body)
    outcome = {"fired": {}, "second": {}, "quality": {}, "body": {}}
    for net in NET_GRID:
        fired = net.is_suspicious(sum(map(len, candidates.ours)), lambda: candidates.reference_chars)
        chose_second = fired and net.choose(candidates.ours, candidates.second) is candidates.second
        outcome["fired"][net] = fired
        outcome["second"][net] = chose_second
        outcome["quality"][net] = second_quality if chose_second else ours_quality
        outcome["body"][net] = candidates.second_body if chose_second else candidates.ours_body
    return outcome


def run_cv(args) -> int:
    rows = [row for row in read_jsonl(args.data, limit=args.limit)
            if row.get("html") and (row.get("gold_text") is not None or row.get("must_include") or row.get("must_exclude"))]
    folds = host_folds(rows, args.cv)
    outcomes = [_net_outcomes(row) for row in rows]
    held_out, baseline, chosen = Scores(), Scores() if args.baseline else None, []
    fired = replaced = lost = 0
    for fold in range(args.cv):
        training = [i for i, f in enumerate(folds) if f != fold]
        net = _choose_net(training, outcomes)
        testing = [i for i, f in enumerate(folds) if f == fold]
        chosen.append({"fold": fold, "pages": len(testing), "hosts": len({host_of(rows[i]) for i in testing}),
                       "share": net.share, "ratio": net.ratio})
        for i in testing:
            body = outcomes[i]["body"][net]
            held_out.add(rows[i], body, 0.0)
            fired += outcomes[i]["fired"][net]
            replaced += outcomes[i]["second"][net]
            if baseline is not None:
                baseline_body = _trafilatura(rows[i])
                baseline.add(rows[i], baseline_body, 0.0)
                lost += _is_lost(rows[i], body, baseline_body)
    result = {key: value for key, value in held_out.summary().items() if key != "pages_per_second"}
    on_all_rows = _choose_net(list(range(len(rows))), outcomes)
    result["cv"] = {"folds": args.cv, "grouped_by": "url host", "hosts": len({host_of(row) for row in rows}),
                    "chosen": chosen, "net_fired": fired, "second_body_kept": replaced,
                    "chosen_on_all_rows": {"share": on_all_rows.share, "ratio": on_all_rows.ratio}}
    if baseline is not None:
        result["baseline"] = {"name": args.baseline, **{k: v for k, v in baseline.summary().items() if k != "pages_per_second"}}
        result["lost_pages"] = lost
    print(_format("newswire (cross-validated)", result))
    for fold in chosen:
        print(f"  fold {fold['fold']}: {fold['pages']} pages, {fold['hosts']} hosts, chosen share={fold['share']} ratio={fold['ratio']}")
    print(f"  safety net fired on {fired} pages, kept the second body on {replaced}; "
          f"chosen on all rows: share={on_all_rows.share} ratio={on_all_rows.ratio}")
    if baseline is not None:
        print(_format(args.baseline, result["baseline"]))
        print(f"  lost pages (ours < {LOST_BELOW}, {args.baseline} >= {BASELINE_FOUND}): {lost}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0


def run(args) -> int:
    if args.cv:
        if args.input != "html" or args.cv < 2:
            raise SystemExit("--cv K needs K >= 2 and HTML input; the text path's line scorer is cross-validated by "
                             "`newswire train text-lines --cv K`")
        return run_cv(args)
    if args.baseline == "text-rules" and args.input != "text":
        raise SystemExit("--baseline text-rules needs --input text")
    ours, baseline = Scores(), Scores() if args.baseline else None
    lost = 0
    for row in read_jsonl(args.data, limit=args.limit):
        if row.get("gold_text") is None and not (row.get("must_include") or row.get("must_exclude")):
            continue
        body, seconds = _timed(_ours, row, args.input)
        ours.add(row, body, seconds)
        if baseline is not None:
            baseline_body, seconds = _timed(BASELINES[args.baseline], row)
            baseline.add(row, baseline_body, seconds)
            lost += _is_lost(row, body, baseline_body)
    result = ours.summary()
    if baseline is not None:
        result["baseline"] = {"name": args.baseline, **baseline.summary()}
        result["lost_pages"] = lost
    print(_format("newswire", result))
    for lang, figures in result.get("per_lang", {}).items():
        print(f"  {lang}: n={figures['n']} P={figures['precision']:.4f} R={figures['recall']:.4f} F1={figures['f1']:.4f}")
    if baseline is not None:
        print(_format(args.baseline, result["baseline"]))
        print(f"  lost pages (ours < {LOST_BELOW}, {args.baseline} >= {BASELINE_FOUND}): {lost}")
    for f1, row_id in sorted(ours.worst, key=lambda pair: pair[0])[: args.worst]:
        print(f"  worst: f1={f1:.4f} id={row_id}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
