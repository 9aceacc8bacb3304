"""Train the text-scrape line scorer (workers/models/cleaning/text_lines.json) on the extraction sets.

Pages: fundus's `derived_page_text` (a naive tag-strip of each page, the text-scrape shape), and the same
tag-strip (`workers.evaluation.extract.tag_strip`) of the HTML of the scrapinghub AEB and readability sets,
which carry no text scrape of their own. A line is labelled article text when its whitespace-normalised,
lower-cased text occurs in the page's `gold_text`. The logistic regression (scikit-learn, the [train] extra)
weighs each line by its token count, since the score is bag-of-tokens F1.

`--cv K` first reports grouped cross-validation: pages split into K folds by URL host (every page of a site
in one fold, as `eval extract --cv`), the model fitted on the other folds, each left-out page scored with the
rules' body and the model's, per set. Then the model is fitted on every page and written.
Deterministic: a rerun writes the same bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from workers.datasets import read_jsonl, shared_data_dir
from workers.evaluation.extract import bag_of_tokens_scores, host_folds, text_scrape
from workers.stages.clean import boilerplate as bp
from workers.stages.clean.text import rule_block, rule_body, scrape_lines
from workers.stages.clean.text_lines import FEATURE_NAMES, MODEL_PATH, LineModel, choose_body, line_features

VERSION = "text-lines-1"
# Sets with gold bodies; fundus rows carry their own text scrape, the others are tag-stripped (text_scrape).
TRAINING_SETS = ("extraction_fundus", "extraction_scrapinghub_aeb", "extraction_readability_testpages")
# L2 strength: scikit-learn's default, not tuned.
REGULARISATION_C = 1.0


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def load_pages(data_dir: Path) -> list[dict]:
    pages = []
    for folder in TRAINING_SETS:
        path = data_dir / folder / "pages.jsonl.gz"
        if not path.exists():
            print(f"skipping {path}: not found")
            continue
        for row in read_jsonl(path):
            if not row.get("gold_text"):
                continue
            title, lines, _ = scrape_lines(text_scrape(row))
            if not lines:
                continue
            gold = _squash(row["gold_text"])
            block = rule_block(lines)
            pages.append({
                "set": folder.removeprefix("extraction_"), "row": row, "title": title, "lines": lines, "block": block,
                "features": line_features(title, lines, block),
                "labels": [int(_squash(line.text) in gold) for line in lines],
                "weights": [max(len(bp.tokens(line.text)), 1) for line in lines],
            })
    return pages


def fit(pages: list[dict]):
    from sklearn.linear_model import LogisticRegression

    features = [vector for page in pages for vector in page["features"]]
    labels = [label for page in pages for label in page["labels"]]
    weights = [weight for page in pages for weight in page["weights"]]
    # the bias is feature 0; scikit-learn's own intercept stays off so the file has one weight per feature
    model = LogisticRegression(C=REGULARISATION_C, max_iter=5000, fit_intercept=False)
    return model.fit(features, labels, sample_weight=weights)


def _weights(fitted) -> list[float]:
    return [round(float(w), 6) for w in fitted.coef_[0]]


def _line_model(fitted) -> LineModel:
    """The runtime's model from a fit, so cross-validation scores the code path the cleaner runs."""
    return LineModel(_weights(fitted), VERSION)


def cross_validate(pages: list[dict], k: int) -> dict:
    folds = host_folds([page["row"] for page in pages], k)
    scores: dict[str, list[tuple[float, float]]] = {}
    for fold in range(k):
        model = _line_model(fit([page for page, f in zip(pages, folds) if f != fold]))
        for page, f in zip(pages, folds):
            if f != fold:
                continue
            gold = page["row"]["gold_text"]
            rules = bag_of_tokens_scores("\n\n".join(rule_body(page["lines"])), gold)[2]
            body = choose_body(page["title"], page["lines"], page["block"], model)
            learnt = bag_of_tokens_scores("\n\n".join(body), gold)[2]
            scores.setdefault(page["set"], []).append((rules, learnt))
    result = {}
    for name, pairs in scores.items():
        result[name] = {
            "pages": len(pairs),
            "rules_f1": round(sum(r for r, _ in pairs) / len(pairs), 4),
            "model_f1": round(sum(m for _, m in pairs) / len(pairs), 4),
            "pages_worse_by_0_05": sum(m < r - 0.05 for r, m in pairs),
            "pages_better_by_0_05": sum(m > r + 0.05 for r, m in pairs),
        }
    return result


def add_arguments(parser) -> None:
    parser.add_argument("--cv", type=int, default=0, help="report K-fold cross-validation grouped by host first")
    parser.add_argument("--out", default=str(MODEL_PATH))
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    started = time.time()
    pages = load_pages(shared_data_dir(args.data_dir))
    if not pages:
        print("no training pages found")
        return 1
    report = {"version": VERSION, "pages": len(pages), "lines": sum(len(page["lines"]) for page in pages)}
    if args.cv:
        report["cv"] = {"folds": args.cv, "grouped_by": "url host", "per_set": cross_validate(pages, args.cv)}
        for name, figures in report["cv"]["per_set"].items():
            print(f"{name}: {figures['pages']} pages, left-out hosts: rules F1 {figures['rules_f1']:.4f}, "
                  f"model F1 {figures['model_f1']:.4f} (worse by > 0.05 on {figures['pages_worse_by_0_05']}, "
                  f"better on {figures['pages_better_by_0_05']})")
    weights = _weights(fit(pages))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps({"version": VERSION, "features": list(FEATURE_NAMES), "weights": weights},
                                 option=orjson.OPT_INDENT_2) + b"\n")
    report["seconds"] = round(time.time() - started, 1)
    print(f"wrote {out}: {len(pages)} pages, {report['lines']} lines, {report['seconds']} s")
    if args.json:
        print(orjson.dumps(report).decode())
    return 0
