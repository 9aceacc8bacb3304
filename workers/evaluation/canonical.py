"""Canonical names: share of mentions whose canonical English name is the expected one.

Rows (JSON Lines): {"id", "lang", "text", "mention", "type", "canonical", "split"?, "start"?}
- text: the sentence or short passage the mention is in (its context: other mentions, Latin-script
  names, abbreviations in brackets);
- mention: the mention as written, found in text at character offset "start" if given, else at
  its first occurrence; it must cover whole tokens;
- type: PER, ORG or LOC; canonical: the expected English name;
- split: an optional group reported on its own (tests/fixtures/canonical_hi.jsonl uses "seen" for
  entities in curated.tsv and "unseen" for the others).

Each text goes through the enrich stage's tagger (workers.stages.enrich.find_mentions); the gold
mentions of all rows with that text replace any tagged span they overlap, so the figure measures
the canonical-name step (canonical.canonical_names over the whole text, with the other mentions
as its context) and not the tagger's recall, which is reported beside it: `tagged` is the share
of mentions the tagger found with exactly these bounds and type.
Last line (with --json): {"n", "accuracy", "per_type", "per_split", "tagged", "model_version"}.
"""

from __future__ import annotations

from collections import Counter

import orjson

from workers.datasets import read_jsonl
from workers.stages.enrich import find_mentions, model_version
from workers.stages.enrich.canonical import canonical_names


def add_arguments(parser) -> None:
    parser.add_argument("--show-errors", action="store_true", help="print every wrong canonical name")


def mention_tokens(tokens: list[tuple[str, int, int]], start: int, end: int) -> tuple[int, int]:
    """Token range of the characters [start, end); they must be whole tokens."""
    first = next((i for i, (_, s, _) in enumerate(tokens) if s == start), None)
    last = next((i for i, (_, _, e) in enumerate(tokens) if e == end), None)
    if first is None or last is None or last < first:
        raise ValueError(f"mention at {start}:{end} does not cover whole tokens")
    return first, last + 1


def predict(rows: list[dict]) -> list[tuple[str, bool]]:
    """For rows with one text: the canonical name the enrich stage gives each row's mention, and
    whether the tagger found that mention."""
    text, lang = rows[0]["text"], rows[0]["lang"]
    tokens, found = find_mentions(text, lang)
    gold = []
    for row in rows:
        start = row.get("start", text.find(row["mention"]))
        if start < 0 or text[start : start + len(row["mention"])] != row["mention"]:
            raise ValueError(f"{row['id']}: mention {row['mention']!r} is not in the text")
        gold.append((*mention_tokens(tokens, start, start + len(row["mention"])), row["type"]))
    spans = [
        (s, e, span.type) for s, e, span in found if all(e <= first or last <= s for first, last, _ in gold)
    ]
    spans.extend(dict.fromkeys(gold))  # once each, in order
    canonicals = dict(zip(spans, canonical_names([token for token, _, _ in tokens], spans), strict=True))
    tagged = {(s, e, span.type) for s, e, span in found}
    return [(canonicals[span], span in tagged) for span in gold]


def run(args) -> int:
    correct, total = Counter(), Counter()
    tagged = 0
    by_text: dict[tuple[str, str], list[dict]] = {}
    for row in read_jsonl(args.data, limit=args.limit):
        by_text.setdefault((row["lang"], row["text"]), []).append(row)
    for row, (canonical, found) in (
        pair for rows in by_text.values() for pair in zip(rows, predict(rows), strict=True)
    ):
        right = canonical == row["canonical"]
        for group in ("all", "type:" + row["type"], "split:" + row.get("split", "")):
            total[group] += 1
            correct[group] += right
        tagged += found
        if args.show_errors and not right:
            print(f"{row['id']}\t{row['type']}\t{row['mention']}\t→ {canonical!r}, expected {row['canonical']!r}")

    def accuracy(group: str) -> float:
        return round(correct[group] / total[group], 4) if total[group] else 0.0

    def groups(prefix: str) -> dict:
        return {
            group[len(prefix) :]: {"accuracy": accuracy(group), "n": total[group]}
            for group in sorted(total)
            if group.startswith(prefix) and group != prefix
        }

    result = {
        "n": total["all"],
        "accuracy": accuracy("all"),
        "per_type": groups("type:"),
        "per_split": groups("split:"),
        "tagged": round(tagged / total["all"], 4) if total["all"] else 0.0,
        "model_version": model_version(),
    }
    if not args.json:
        print(f"{args.data}: n={result['n']} accuracy={result['accuracy']:.4f} (tagger found {result['tagged']:.2%})")
        for name, figures in {**result["per_type"], **result["per_split"]}.items():
            print(f"  {name}: {figures['accuracy']:.4f} (n={figures['n']})")
    print(orjson.dumps(result).decode())
    return 0
