"""Score stories across languages: pairwise precision/recall of story_id on tellings of known stories.

Input rows: {id, group, lang, title, text, published, split}; rows of one `group` are tellings of one story
(tests/fixtures/stories.jsonl: Hindi, English and German tellings, and distinct stories of one topic on the
same days). As the runtime does, pages are taken in order of publication; each looks up its story keys (band and
entity-pair keys) among the keys' most recent pages, joins the story of the most similar one that passes
`story.same_story`, and writes itself into each of its keys (workers/runtime/story_store.py does the same in the
engine). The page embedding and the entities are computed as the pipeline computes them. Every pair of rows is
scored: a true pair is two rows of one group; a false merge is a pair of two groups in one story,
`same_topic_merges` those of one category.

`--distractors FILE` (repeatable; topic or story rows, `--distractor-limit` of each) adds unrelated news pages
published over the same days, each its own story, taken in the same publication order: a real stream has far
more pages per day than the set, and a key that more unrelated pages claimed since a telling than it keeps hides
the telling from the next one. Scores stay on the set's rows; `joined_distractors` counts set rows filed under a
distractor's story, `distractors_joined` distractors filed under a set row's story.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from itertools import combinations

import orjson

from workers.datasets import read_jsonl
from workers.evaluation.dedup import pair_scores
from workers.stages import embedding as embedding_stage
from workers.stages import enrich as enrich_stage
from workers.stages import story

CHECK_PARTS = ("check", "check2")  # written after the settings were chosen, each scored once (docs/search.md)
SWEEP_ALONE = (0.88, 0.89, 0.9, 0.905, 0.91, 0.92, 0.93)
SWEEP_WITH_ENTITIES = (0.82, 0.84, 0.85, 0.86, 0.87, 0.88)


def add_arguments(parser) -> None:
    parser.add_argument("--split", choices=("tune", "report", *CHECK_PARTS, "all"), default="report",
                        help="the rows scored: thresholds were chosen on tune (and the shipped rule on tune and "
                             "report, docs/search.md); check and check2 were written after that, each scored once")
    parser.add_argument("--sweep", action="store_true", help="also score a grid of the two cosine thresholds")
    parser.add_argument("--distractors", action="append", default=[], metavar="FILE",
                        help="unrelated pages ({id, lang, text, title?, published?}) streamed among the rows; repeatable")
    parser.add_argument("--distractor-limit", type=int, default=300,
                        help="rows taken from each distractor file (of the split's half, by a hash of the id)")


def page_features(rows: list[dict]) -> list[story.Features]:
    vectors = embedding_stage.embed_pages([(row["title"], row["text"]) for row in rows])
    result = []
    for row, vector in zip(rows, vectors, strict=True):
        entities = enrich_stage.extract_entities(row["text"], row["lang"], title=row["title"])  # as enrich_doc does
        names = [entity.canonical for entity in entities if entity.type in ("PER", "ORG", "LOC")]
        result.append(story.features(vector, names, published=row.get("published")))
    return result


def distractor_split(page_id: str) -> str:
    """Distractors are halved by a hash of their id like the set's rows: tune and report never share one."""
    return "tune" if zlib.crc32(page_id.encode("utf-8")) % 2 == 0 else "report"


def load_distractors(paths: list[str], limit: int, rows: list[dict], split: str = "all") -> list[dict]:
    """The first `limit` rows with text of each file, those of `split`'s half, as pages of their own stories; a
    row without a date is published at a point of the set's span fixed by its id (every run streams them alike).
    `check` takes the `limit` rows that follow those both halves take, `check2` the `limit` after those, so that
    no two parts share a distractor."""
    dates = sorted(stamp for stamp in (story.timestamp(row.get("published")) for row in rows) if stamp is not None)
    start, span = (dates[0], dates[-1] - dates[0]) if dates else (0.0, 0.0)
    distractors = []
    for path in paths:
        taken, per_half, after_the_halves = 0, {"tune": 0, "report": 0}, 0
        for row in read_jsonl(path):
            if taken >= limit:
                break
            page_id = f"distractor:{row['id']}"
            if not (row.get("text") or "").strip():
                continue
            half = distractor_split(page_id)
            if per_half[half] < limit:
                per_half[half] += 1
                part = half
            else:  # check, then check2: blocks of `limit` rows after those the halves take
                part = CHECK_PARTS[min(after_the_halves // limit, len(CHECK_PARTS) - 1)]
                after_the_halves += 1
            if split not in ("all", part):
                continue
            taken += 1
            published = row.get("published")
            if story.timestamp(published) is None:
                moment = start + span * (zlib.crc32(page_id.encode("utf-8")) % 10_000) / 10_000
                published = datetime.fromtimestamp(moment, tz=timezone.utc).isoformat()
            distractors.append({"id": page_id, "group": page_id, "lang": row["lang"].split("-")[0],
                                "title": row.get("title") or "", "text": row["text"], "published": published})
    return distractors


def assign(rows: list[dict], features: list[story.Features], **thresholds) -> list[str]:
    """The story id of each row, by the runtime's procedure with an in-memory key store."""
    order = sorted(range(len(rows)), key=lambda i: (features[i].published or 0.0, rows[i]["id"]))
    claimants: dict[str, list[str]] = {}  # story key -> its most recent pages
    story_of: dict[str, str] = {}
    known: dict[str, story.Features] = {}
    stories = [""] * len(rows)
    for index in order:
        page_id, page = rows[index]["id"], features[index]
        keys = story.story_keys(page)
        candidates = {other: story_of[other] for key in keys for other in claimants.get(key, ())}
        story_id, _ = story.decide(page_id, page, candidates, known, **thresholds)
        stories[index] = story_of[page_id] = story_id
        known[page_id] = page
        for key in keys:
            claimants[key] = story.remember(claimants.get(key, []), page_id)
    return stories


def score(rows: list[dict], features: list[story.Features], distractors: int = 0, **thresholds) -> dict:
    """Pairwise scores of `rows[distractors:]`; the first `distractors` rows are streamed with them, in
    publication order, but not scored."""
    every = assign(rows, features, **thresholds)
    rows, features, stories = rows[distractors:], features[distractors:], every[distractors:]
    groups = [row["group"] for row in rows]
    predicted = {(i, j) for i, j in combinations(range(len(rows)), 2) if stories[i] == stories[j]}
    result = {"n": len(rows), "groups": len(set(groups)), "stories": len(set(stories)), **pair_scores(groups, predicted)}
    if distractors:
        scored_stories = set(stories)
        result["distractors"] = distractors
        result["joined_distractors"] = sum(1 for story_id in stories if story_id.startswith("distractor:"))
        result["distractors_joined"] = sum(1 for story_id in every[:distractors] if story_id in scored_stories)
    result["same_topic_merges"] = sum(1 for i, j in predicted
                                      if groups[i] != groups[j] and rows[i].get("category") == rows[j].get("category"))
    keys = [set(story.band_keys(f.embedding)) for f in features]
    true_pairs = [(i, j) for i, j in combinations(range(len(rows)), 2) if groups[i] == groups[j]]
    result["true_pairs_sharing_a_band"] = sum(1 for i, j in true_pairs if keys[i] & keys[j])
    result["errors"] = sorted(
        [f"merged {rows[i]['id']} ~ {rows[j]['id']} cos={story.cosine(features[i], features[j]):.3f}"
         for i, j in predicted if groups[i] != groups[j]]
        + [f"missed {rows[i]['id']} ~ {rows[j]['id']} cos={story.cosine(features[i], features[j]):.3f} "
           f"shared_entities={len(features[i].entities & features[j].entities)}"
           for i, j in true_pairs if (i, j) not in predicted])
    return result


SUMMARY_KEYS = ("n", "groups", "stories", "pairs_true", "precision", "recall", "f1", "false_merges", "same_topic_merges")
DISTRACTOR_KEYS = ("distractors", "joined_distractors", "distractors_joined")


def run(args) -> int:
    rows = [row for row in read_jsonl(args.data, limit=args.limit)
            if args.split == "all" or row.get("split") == args.split]
    distractors = load_distractors(args.distractors, args.distractor_limit, rows, args.split)
    rows = distractors + rows
    features = page_features(rows)
    result = {"split": args.split, "model_version": story.MODEL_VERSION, **score(rows, features, len(distractors))}
    if args.sweep:
        result["sweep"] = [
            {"alone": alone, "with_entities": with_entities,
             **{k: v for k, v in score(rows, features, len(distractors), alone=alone, with_entities=with_entities).items()
                if k in ("precision", "recall", "false_merges", "same_topic_merges")}}
            for alone in SWEEP_ALONE for with_entities in SWEEP_WITH_ENTITIES if with_entities <= alone]
    summary_keys = SUMMARY_KEYS + (DISTRACTOR_KEYS if distractors else ())
    if args.json:
        print(orjson.dumps({k: v for k, v in result.items() if k not in summary_keys}).decode())
        print(orjson.dumps({k: result[k] for k in summary_keys}).decode())
    else:
        for key, value in result.items():
            if key == "sweep":
                for point in value:
                    print("  " + " ".join(f"{k}={v}" for k, v in point.items()))
            elif key == "errors":
                for line in value:
                    print(f"  {line}")
            else:
                print(f"{key}: {value}")
    return 0
