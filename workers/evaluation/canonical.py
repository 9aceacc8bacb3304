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
mention replaces any tagged span it overlaps, so the figure measures the canonical-name step
(canonical.canonical_names over the whole text) and not the tagger's recall, which is reported
beside it: `tagged` is the share of mentions the tagger found with exactly these bounds and type.
Last line (with --json): {"n", "accuracy", "per_type", "per_split", "tagged", "model_version"}.
"""

from __future__ import annotations

from collections import Counter

import orjson

from workers.datasets import read_jsonl
from workers.stages.enrich import MODEL_VERSION, find_mentions
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


def predict(row: dict) -> tuple[str, bool]:
    """The canonical name the enrich stage gives the row's mention, and whether the tagger found it."""
    text, mention = row["text"], row["mention"]
    start = row.get("start", text.find(mention))
    if start < 0 or text[start : start + len(mention)] != mention:
        raise ValueError(f"{row['id']}: mention {mention!r} is not in the text")
    tokens, found = find_mentions(text, row["lang"])
    first, last = mention_tokens(tokens, start, start + len(mention))
    tagged = any(s == first and e == last and span.type == row["type"] for s, e, span in found)
    spans = [(s, e, span.type) for s, e, span in found if e <= first or last <= s]
    spans.append((first, last, row["type"]))
    canonicals = canonical_names([token for token, _, _ in tokens], spans)
    return canonicals[-1], tagged


def run(args) -> int:
    correct, total = Counter(), Counter()
    tagged = 0
    for row in read_jsonl(args.data, limit=args.limit):
        canonical, found = predict(row)
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
        "model_version": MODEL_VERSION,
    }
    if not args.json:
        print(f"{args.data}: n={result['n']} accuracy={result['accuracy']:.4f} (tagger found {result['tagged']:.2%})")
        for name, figures in {**result["per_type"], **result["per_split"]}.items():
            print(f"  {name}: {figures['accuracy']:.4f} (n={figures['n']})")
    print(orjson.dumps(result).decode())
    return 0
