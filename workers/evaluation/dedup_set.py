"""Build the near-duplicate evaluation set from the development data (deterministic for a seed).

`python -m workers.evaluation.dedup_set --out /tmp/dedup.jsonl.gz [--mode html|text] [--sources N]`

Stories are the gold bodies of the extraction sets (`extraction_fundus`, `extraction_scrapinghub_aeb`,
`extraction_readability_testpages`) and, for Devanagari, the Hindi BBC articles of `topic_bbc_hindi` (the
extraction sets hold one Hindi page). Each story gives one original row and COPIES republished rows:

- html mode (default): the body is placed into another page's HTML (that page's own body paragraphs
  removed, its headline replaced) and the real clean stage (`workers.stages.clean.clean`) extracts it; an
  original with its own page is cleaned from that page. This runs the pipeline a copy goes through.
- text mode: the body plus a few leftover lines of another page (navigation/footer lines of a fundus
  `derived_page_text`, a "Read more"/"यह भी पढ़ें" line), i.e. a simulated clean-stage output.

Copies get a new headline and, in turn, a paragraph added from another story of the same language (where
there is one), a paragraph cut, or no body change; most also get small wording edits (a number changed, a
word dropped, two words swapped). Distinct stories are the negatives: same language, same site, same
`gold_topics` / BBC section, stories sharing one added paragraph (a long quote) and stories placed into the
same template (the same leftover boilerplate). Row: {id, lang, text, title, cluster, kind, edits, template}.
"""

from __future__ import annotations

import argparse
import gzip
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import orjson
import regex

from workers.datasets import read_jsonl, shared_data_dir
from workers.stages.clean import CleanError, clean

EXTRACTION_SETS = ("extraction_fundus", "extraction_scrapinghub_aeb", "extraction_readability_testpages")
HINDI_SET = "topic_bbc_hindi/test.jsonl.gz"
COPIES = 2
BODY_EDITS = ("add", "cut", "none")
SEED = 20240917
# A story needs this many words to be worth deduplicating (the signature ignores very short texts anyway).
MIN_STORY_WORDS = 80
# An html-mode copy whose clean output keeps less of the placed body than this is an extraction failure,
# not a deduplication case: it is left out of the set (and counted).
MIN_PLACED_RECALL = 0.7
# A template whose own body leaks into the clean output beyond this share is not used (its removal failed).
MAX_TEMPLATE_LEAK = 0.1
# Sentences per pseudo-paragraph for the BBC Hindi texts, which come without paragraph breaks.
HINDI_SENTENCES_PER_PARAGRAPH = 3

_READ_MORE = {"hi": "यह भी पढ़ें: ", "de": "Lesen Sie auch: ", "fr": "À lire aussi : ", "es": "Lee también: "}
_HEADLINE_VARIANTS = ("{title} | {site}", "UPDATE: {title}", "{title} (report)", "{short}…", "{site}: {title}")
_WORD = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]|\w+")
_SENTENCE_END = regex.compile(r"(?<=[.।?!])\s*(?=\S)")
_BODY_BLOCKS = ("p", "h2", "h3", "h4", "li", "blockquote", "figcaption")


@dataclass
class Story:
    id: str
    lang: str
    title: str
    paragraphs: list[str]
    site: str
    topics: list[str] = field(default_factory=list)
    url: str | None = None
    html: str | None = None  # the story's own page, when it has one
    gold_text: str | None = None
    boilerplate: list[str] = field(default_factory=list)  # lines of the page that are not the body

    @property
    def words(self) -> int:
        return sum(len(_WORD.findall(p)) for p in self.paragraphs)


def _normalise_space(text: str) -> str:
    return " ".join(text.split())


def _site(url: str | None) -> str:
    return (url or "").split("/")[2] if url and url.count("/") >= 2 else "unknown"


def _boilerplate_lines(row: dict) -> list[str]:
    gold = _normalise_space(row["gold_text"])
    lines = [line.strip() for line in (row.get("derived_page_text") or "").splitlines()]
    return [line for line in lines if 3 <= len(line) <= 120 and _normalise_space(line) not in gold]


def _extraction_stories(data_dir: Path) -> list[Story]:
    stories = []
    for name in EXTRACTION_SETS:
        path = data_dir / name / "pages.jsonl.gz"
        if not path.exists():
            continue
        for row in read_jsonl(path):
            if not row.get("gold_text"):
                continue
            paragraphs = [p.strip() for p in row["gold_text"].split("\n\n") if p.strip()]
            title = row.get("gold_title") or _normalise_space(paragraphs[0])[:90]
            stories.append(
                Story(
                    id=f"{name.removeprefix('extraction_')}:{row['id']}",
                    lang=row["lang"],
                    title=title,
                    paragraphs=paragraphs,
                    site=_site(row.get("url")),
                    topics=list(row.get("gold_topics") or []),
                    url=row.get("url"),
                    html=row.get("html"),
                    gold_text=row["gold_text"],
                    boilerplate=_boilerplate_lines(row),
                )
            )
    return stories


def _hindi_stories(data_dir: Path) -> list[Story]:
    path = data_dir / HINDI_SET
    if not path.exists():
        return []
    stories = []
    for row in read_jsonl(path):
        sentences = [s.strip() for s in _SENTENCE_END.split(_normalise_space(row["text"])) if s.strip()]
        step = HINDI_SENTENCES_PER_PARAGRAPH
        paragraphs = [" ".join(sentences[i : i + step]) for i in range(0, len(sentences), step)]
        if paragraphs:
            stories.append(
                Story(
                    id=f"bbc_hindi:{row['id']}",
                    lang="hi",
                    title=sentences[0][:90],
                    paragraphs=paragraphs,
                    site="www.bbc.com/hindi",
                    topics=[row["label_orig"]],
                )
            )
    return stories


def load_stories(data_dir: Path) -> list[Story]:
    return [s for s in _extraction_stories(data_dir) + _hindi_stories(data_dir) if s.words >= MIN_STORY_WORDS]


# --- edits -------------------------------------------------------------------------------------------


def new_headline(story: Story, template: Story, rng: random.Random) -> str:
    words = story.title.split()
    short = " ".join(words[: max(3, len(words) - 2)])
    return rng.choice(_HEADLINE_VARIANTS).format(title=story.title, site=template.site, short=short)


def _edit_words(paragraph: str, rng: random.Random) -> str:
    matches = list(_WORD.finditer(paragraph))
    if len(matches) < 4:
        return paragraph
    numbers = [m for m in matches if m.group().isdigit()]
    operation = rng.choice(("number", "drop", "swap")) if numbers else rng.choice(("drop", "swap"))
    if operation == "number":
        m = rng.choice(numbers)
        return paragraph[: m.start()] + str(int(m.group()) + 1) + paragraph[m.end() :]
    i = rng.randrange(1, len(matches) - 1)
    m, following = matches[i], matches[i + 1]
    if operation == "drop":
        return paragraph[: m.start()] + paragraph[following.start() :]
    between = paragraph[m.end() : following.start()]
    return paragraph[: m.start()] + following.group() + between + m.group() + paragraph[following.end() :]


def wording_edits(paragraphs: list[str], rng: random.Random) -> list[str]:
    edited = list(paragraphs)
    for index in rng.sample(range(len(edited)), k=min(len(edited), rng.randint(1, 3))):
        edited[index] = _edit_words(edited[index], rng)
    return edited


def _added_paragraph(story: Story, others: list[Story], rng: random.Random) -> str:
    """A paragraph of another story (same language where possible), cut to a third of the story: a shared quote."""
    same_lang = [o for o in others if o.lang == story.lang and o.id != story.id]
    donor = rng.choice(same_lang or [o for o in others if o.id != story.id])
    paragraph = rng.choice(donor.paragraphs)
    words = list(_WORD.finditer(paragraph))
    limit = max(15, story.words // 3)
    return paragraph if len(words) <= limit else paragraph[: words[limit - 1].end()]


def body_edit(kind: str, story: Story, others: list[Story], rng: random.Random) -> list[str]:
    paragraphs = list(story.paragraphs)
    if kind == "add":
        paragraphs.insert(rng.randint(1, len(paragraphs)), _added_paragraph(story, others, rng))
    elif kind == "cut" and len(paragraphs) >= 3:
        del paragraphs[rng.randrange(1, len(paragraphs))]
    return paragraphs


# --- placing a body into a page ---------------------------------------------------------------------


def place_into_template(template: Story, paragraphs: list[str], headline: str) -> str | None:
    """The template page with its own body blocks replaced by `paragraphs` and its headline by `headline`."""
    try:
        doc = lxml.html.fromstring(template.html)
    except (ValueError, lxml.etree.ParserError):
        return None
    gold = _normalise_space(template.gold_text or "")
    own_blocks = [
        element
        for element in doc.iter(*_BODY_BLOCKS)
        if len(text := _normalise_space(element.text_content())) >= 20 and text in gold
    ]
    paragraphs_in_body = [e for e in own_blocks if e.tag == "p"]
    if len(paragraphs_in_body) < 2:
        return None
    container = Counter(p.getparent() for p in paragraphs_in_body).most_common(1)[0][0]
    position = container.index(next(p for p in paragraphs_in_body if p.getparent() is container))
    keep = {container, *container.iterancestors()}
    for element in own_blocks:
        parent = element.getparent()
        if parent is not None and element not in keep:
            parent.remove(element)
    position = min(position, len(container))
    for offset, paragraph in enumerate(paragraphs):
        new = lxml.html.Element("p")
        new.text = paragraph
        container.insert(position + offset, new)
    for script in doc.xpath("//script[@type='application/ld+json']"):
        script.getparent().remove(script)
    for title in doc.iter("title"):
        title.text = headline
    for meta in doc.xpath("//meta[@property='og:title' or @name='twitter:title']"):
        meta.set("content", headline)
    for h1 in doc.iter("h1"):
        for child in list(h1):
            h1.remove(child)
        h1.text = headline
        break
    return lxml.html.tostring(doc, encoding="unicode")


def placed_recall(paragraphs: list[str], text: str) -> float:
    wanted = Counter(_WORD.findall(" ".join(paragraphs).lower()))
    found = Counter(_WORD.findall(text.lower()))
    total = sum(wanted.values())
    return sum((wanted & found).values()) / total if total else 0.0


def text_copy(paragraphs: list[str], story: Story, template: Story, others: list[Story], rng: random.Random) -> str:
    """A simulated clean-stage output: the body with a few leftover lines of the template page."""
    leftovers = rng.sample(template.boilerplate, k=min(len(template.boilerplate), rng.randint(1, 4)))
    other = rng.choice([o for o in others if o.id != story.id])
    read_more = _READ_MORE.get(story.lang, "Read more: ") + other.title
    head, tail = leftovers[: len(leftovers) // 2], leftovers[len(leftovers) // 2 :]
    lines = head + paragraphs + ([read_more] if rng.random() < 0.5 else []) + tail
    return "\n\n".join(lines)


# --- the set ------------------------------------------------------------------------------------------


@dataclass
class BuildStats:
    stories: int = 0
    rows: int = 0
    skipped_placements: int = 0


def _word_trigrams(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def template_leak(template: Story, text: str) -> float:
    """Share of the template page's own body (word trigrams) still in a clean output of the template."""
    own = _word_trigrams(template.gold_text or "")
    return len(own & _word_trigrams(text)) / len(own) if own else 0.0


def _clean_html(html: str, url: str | None) -> tuple[str, str] | None:
    try:
        page = clean(html, "text/html", url)
    except CleanError:
        return None
    return page.title, page.body


def clean_placed(template: Story, paragraphs: list[str], headline: str) -> str | None:
    """The clean body of `paragraphs` published in `template`; None when the clean stage did not extract that
    body (the placed body missing, or the template's own body coming out instead): an extraction failure."""
    html = place_into_template(template, paragraphs, headline)
    cleaned = _clean_html(html, template.url) if html else None
    if (
        cleaned is None
        or placed_recall(paragraphs, cleaned[1]) < MIN_PLACED_RECALL
        or template_leak(template, cleaned[1]) > MAX_TEMPLATE_LEAK
    ):
        return None
    return cleaned[1]


def _templates(stories: list[Story], mode: str) -> list[Story]:
    if mode == "text":
        return [s for s in stories if len(s.boilerplate) >= 4]
    pages = [s for s in stories if s.html and s.gold_text]
    usable = []
    for template in pages:  # a usable template takes a probe story's body and lets none of its own through
        probe = next(page for page in pages if page.id != template.id)
        if clean_placed(template, probe.paragraphs, probe.title):
            usable.append(template)
    return usable


def _pick_template(story: Story, templates: list[Story], rng: random.Random) -> Story:
    candidates = [t for t in templates if t.id != story.id]
    same_lang = [t for t in candidates if t.lang == story.lang]
    return rng.choice(same_lang if same_lang and rng.random() < 0.5 else candidates)


def _row(story: Story, suffix: str, text: str, title: str, kind: str, edits: list[str], template: str | None) -> dict:
    return {
        "id": f"{story.id}#{suffix}",
        "lang": story.lang,
        "text": text,
        "title": title,
        "cluster": story.id,
        "kind": kind,
        "edits": edits,
        "template": template,
        "site": story.site,
        "topics": story.topics,
    }


def _original(story: Story, templates: list[Story], mode: str, rng: random.Random) -> dict | None:
    if mode == "text":
        return _row(story, "original", "\n\n".join(story.paragraphs), story.title, "original", [], None)
    if story.html:
        cleaned = _clean_html(story.html, story.url)
        if cleaned is None or placed_recall(story.paragraphs, cleaned[1]) < MIN_PLACED_RECALL:
            return None
        return _row(story, "original", cleaned[1], cleaned[0] or story.title, "original", [], None)
    template = _pick_template(story, templates, rng)  # a story without its own page is published in a template
    body = clean_placed(template, story.paragraphs, story.title)
    return _row(story, "original", body, story.title, "original", [], template.id) if body else None


def build(
    data_dir: Path | None = None, mode: str = "html", copies: int = COPIES, seed: int = SEED, sources: int | None = None
) -> tuple[list[dict], BuildStats]:
    stories = load_stories(data_dir or shared_data_dir())
    rng = random.Random(seed)
    if sources is not None and sources < len(stories):
        stories = rng.sample(stories, sources)
    templates = _templates(stories, mode)
    stats = BuildStats()
    rows: list[dict] = []
    for index, story in enumerate(stories):
        original = _original(story, templates, mode, rng)
        if original is None:
            stats.skipped_placements += 1
            continue
        story_rows = [original]
        for copy in range(copies):
            kind = BODY_EDITS[(index + copy) % len(BODY_EDITS)]
            template = _pick_template(story, templates, rng)
            paragraphs = body_edit(kind, story, stories, rng)
            edits = ["headline"] + ([kind] if kind != "none" else [])
            if rng.random() < 0.7:
                paragraphs = wording_edits(paragraphs, rng)
                edits.append("wording")
            headline = new_headline(story, template, rng)
            if mode == "text":
                text = text_copy(paragraphs, story, template, stories, rng)
            else:
                text = clean_placed(template, paragraphs, headline)
                if text is None:
                    stats.skipped_placements += 1
                    continue
            story_rows.append(_row(story, f"copy{copy}", text, headline, "copy", edits, template.id))
        rows.extend(story_rows)
        stats.stories += 1
    stats.rows = len(rows)
    return rows, stats


def write_jsonl(rows: list[dict], out: Path) -> None:
    opener = gzip.open if out.suffix == ".gz" else open
    with opener(out, "wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="JSONL(.gz) file to write (keep it out of the repo)")
    parser.add_argument("--mode", choices=("html", "text"), default="html")
    parser.add_argument("--copies", type=int, default=COPIES, help="republished copies per story")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sources", type=int, default=None, help="use a seeded sample of N stories")
    parser.add_argument("--data-dir", default=None, help="the development data (default: ../shared/data)")
    args = parser.parse_args(argv)
    rows, stats = build(shared_data_dir(args.data_dir), args.mode, args.copies, args.seed, args.sources)
    write_jsonl(rows, args.out)
    print(orjson.dumps({"stories": stats.stories, "rows": stats.rows, "skipped": stats.skipped_placements}).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
