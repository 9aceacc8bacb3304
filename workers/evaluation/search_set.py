"""Build the search evaluation set from the development data (deterministic).

`python -m workers.evaluation.search_set --out /tmp/search.jsonl.gz [--per-lang 200]`

One row per article: `{id, lang, query, body, split}`. The query is the article's headline where the set has
one (the fundus and readability gold titles, BBC and MasakhaNEWS titles), else its first sentence (Hindi BBC
articles, Scrapinghub pages, L3Cube-IndicNews paragraphs, whose punctuation is gone: their first 12 words); the body is the rest of the article, without the
query, so a hit must come from the analysis of different wording. `split` is `tune` or `report` by a hash of
the id: settings chosen on the tune half (the hybrid weights) are reported on the other.

`--with-fixture tests/fixtures/search_articles.jsonl` appends the hand-written articles (12 or more in each
language the development data lacks), all in the report half: they were written after the query form and the
semantic weight were chosen, so nothing was tuned on them, and ranked among the development articles they must
also beat every other language's pages.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
from collections import Counter
from pathlib import Path

import orjson
import regex

from workers.datasets import REPO_ROOT, read_jsonl, shared_data_dir

# (file under ../shared/data, title field or None, body field, row filter)
SOURCES = (
    ("extraction_fundus/pages.jsonl.gz", "gold_title", "gold_text", None),
    ("extraction_readability_testpages/pages.jsonl.gz", "gold_title", "gold_text", None),
    ("extraction_scrapinghub_aeb/pages.jsonl.gz", None, "gold_text", None),
    ("topic_masakhanews/test_eng_fra.jsonl.gz", "title", "text", None),
    ("topic_bbc_fulltext_en/data.jsonl.gz", "title", "text", None),
    ("topic_bbc_hindi/test.jsonl.gz", None, "text", None),
    ("topic_l3cube_indicnews/data.jsonl.gz", None, "text", lambda row: row.get("granularity") == "LPC"),
)

# A sentence ends at . ! ? or the danda, followed by space; CJK full stops need no space.
_SENTENCE_END = regex.compile(r"(?<=[.!?।])\s+|(?<=[。！？])")
MIN_BODY_CHARS = 200
MIN_QUERY_CHARS = 12
OPENING_WORDS = 12
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "search_articles.jsonl"


def split_of(row_id: str) -> str:
    return "tune" if hashlib.sha256(row_id.encode()).digest()[0] % 2 == 0 else "report"


def query_and_body(title: str | None, text: str) -> tuple[str, str] | None:
    text = text.strip()
    if title and title.strip():
        query = title.strip()
        body = text[len(query):].strip() if text.startswith(query) else text  # BBC/MasakhaNEWS texts open with it
    else:
        parts = _SENTENCE_END.split(text, maxsplit=1)
        if len(parts) < 2:  # L3Cube paragraphs lost their punctuation: the opening words stand for the sentence
            words = text.split()
            parts = [" ".join(words[:OPENING_WORDS]), " ".join(words[OPENING_WORDS:])]
        query, body = parts[0].strip(), parts[1].strip()
    if len(query) < MIN_QUERY_CHARS or len(body) < MIN_BODY_CHARS:
        return None
    return query, body


def build(data_dir: Path, per_lang: int) -> list[dict]:
    rows, per_lang_count = [], Counter()
    for file, title_field, body_field, keep in SOURCES:
        path = data_dir / file
        if not path.exists():
            continue
        for row in read_jsonl(path):
            lang = row["lang"].split("-")[0]
            if per_lang_count[lang] >= per_lang or (keep and not keep(row)) or not row.get(body_field):
                continue
            pair = query_and_body(row.get(title_field) if title_field else None, row[body_field])
            if pair is None:
                continue
            per_lang_count[lang] += 1
            rows.append({"id": row["id"], "lang": lang, "query": pair[0], "body": pair[1], "split": split_of(row["id"])})
    return rows


def fixture_rows(path: Path) -> list[dict]:
    """The hand-written rows (already `{id, lang, query, body}`), all in the report half."""
    return [{"id": row["id"], "lang": row["lang"], "query": row["query"], "body": row["body"], "split": "report"}
            for row in read_jsonl(path)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--per-lang", type=int, default=200, help="at most this many articles per language")
    parser.add_argument("--data-dir", help="the development data (default: ../shared/data)")
    parser.add_argument("--with-fixture", nargs="?", const=str(FIXTURE), metavar="PATH",
                        help=f"append hand-written rows, all in the report half (default {FIXTURE.relative_to(REPO_ROOT)})")
    args = parser.parse_args(argv)
    rows = build(shared_data_dir(args.data_dir), args.per_lang)
    if args.with_fixture:
        rows += fixture_rows(Path(args.with_fixture))
    with gzip.open(args.out, "wb") as out:
        for row in rows:
            out.write(orjson.dumps(row) + b"\n")
    print(f"{len(rows)} articles: " + ", ".join(f"{lang} {n}" for lang, n in Counter(r["lang"] for r in rows).most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
