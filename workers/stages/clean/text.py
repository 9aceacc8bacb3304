"""Cleaning a text scrape (text/plain): one article among the site's navigation, credits and link lists.

Each non-empty line is classified (content, noise to drop, or a hard break such as "Recent Posts" after
which the article is over), then the rules' article is the contiguous run of lines with the most running
text: paragraph-shaped lines score their length, other content lines (menus, headlines, sub-headings) cost a
little, so a sub-heading between two paragraphs is kept while menus and link lists around the article are not.
The learnt line scorer (text_lines.py) reads those labels and that block and chooses the body.
"""

from __future__ import annotations

import re
from collections import Counter

from workers.stages.clean import boilerplate as bp
from workers.stages.clean.limits import Deadline
from workers.stages.clean.normalize import join_paragraphs, normalise_text
from workers.stages.clean.text_lines import (
    BREAK, CONTENT, DEADLINE_CHECK_EVERY, NOISE, STAMP, ScrapedLine, best_run, choose_body, shipped_model,
)
from workers.types import CleanedPage

# Longest line (in words) still taken for a caption, a related-link headline, a timestamp or a promo line.
CAPTION_MAX_WORDS = 25
RELATED_LINK_MAX_WORDS = 25
TIMESTAMP_MAX_WORDS = 10
# A short line found this often on the page is a widget (embed placeholder, link label); twice can be a real
# sub-heading repeated in a teaser or table of contents.
REPEATED_MAX_WORDS = 30
REPEATED_MIN_COUNT = 3
PROMO_MAX_WORDS = 80
# What a non-paragraph content line costs in the block selection (fixed part plus share of its length).
SHORT_LINE_BASE_COST = 25
SHORT_LINE_LENGTH_COST = 0.25
# Separators between a headline and the site name in <title>-like first lines.
_TITLE_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|«|»|•)\s+")
TITLE_AFFIX_MAX_WORDS = 5
# Scrapes with more lines than this (a news page has hundreds) get the rules' body: the line scorer costs about
# 60 µs a line in Python, and a 5 MB scrape must stay well inside the clean stage's time budget.
MAX_SCORED_LINES = 20_000


def pick_title(first_line: str) -> str:
    """The headline of a title line, without site-name or section affixes ("Headline - Section | Site")."""
    segments = _TITLE_SEPARATOR.split(first_line.strip())
    while len(segments) > 1 and bp.word_count(segments[-1]) <= TITLE_AFFIX_MAX_WORDS:
        segments.pop()
    while len(segments) > 1 and bp.word_count(segments[0]) <= TITLE_AFFIX_MAX_WORDS:
        segments.pop(0)
    return max(segments, key=bp.word_count).strip() if len(segments) > 1 else segments[0].strip()


def classify_lines(lines: list[str], title: str, deadline: Deadline | None = None) -> tuple[list[ScrapedLine], str | None]:
    """Label each line; also returns the section named by a label such as "Latest World News"."""
    title_tokens = bp.tokens(title)
    occurrences = Counter(line.strip() for line in lines)
    section = None
    in_related_list = after_marker = False
    after_credit = False
    labelled = []
    for index, raw in enumerate(lines):
        if deadline is not None and index % DEADLINE_CHECK_EVERY == 0:
            deadline.check()
        line = raw.strip()
        words = bp.word_count(line)
        kind = CONTENT
        related_list_follows = credit_seen = marker_seen = False
        label_section = bp.section_from_label(line)
        related = bp.RELATED_MARKER.match(line)
        if label_section:
            section = section or label_section
            kind = BREAK
        elif bp.LIST_HEADER.match(line):
            kind = BREAK
        elif words == 0 or bp.tokens(line) == title_tokens or bp.AD_LABEL.match(line) or bp.SHARE_BAR.match(line):
            kind = NOISE
        elif occurrences[line] >= REPEATED_MIN_COUNT and words <= REPEATED_MAX_WORDS:
            kind = NOISE
        elif related:
            kind = NOISE
            related_list_follows = marker_seen = not related.group("headline")  # a bare marker: linked headlines follow
        elif in_related_list and words <= RELATED_LINK_MAX_WORDS and (after_marker or not bp.ends_like_sentence(line)):
            # the line right after the marker is its headline even when it asks a question or ends with a full stop
            kind = NOISE
            related_list_follows = True
        elif bp.CREDIT.match(line):
            kind = NOISE
            credit_seen = words <= bp.CREDIT_ONLY_MAX_WORDS
        elif after_credit and words <= CAPTION_MAX_WORDS:
            kind = NOISE  # the caption that follows a credit
        elif words <= CAPTION_MAX_WORDS and bp.CREDIT_SUFFIX.search(line):
            kind = NOISE  # a caption ending with its credit
        elif words <= TIMESTAMP_MAX_WORDS and bp.TIMESTAMP.search(line):
            kind = NOISE
        elif words <= TIMESTAMP_MAX_WORDS and bp.CLOCK_STAMP.match(line):
            kind = STAMP
        elif bp.is_teaser(line):
            kind = NOISE
        elif words <= PROMO_MAX_WORDS and bp.is_promo(line):
            kind = NOISE
        in_related_list, after_credit, after_marker = related_list_follows, credit_seen, marker_seen
        labelled.append(ScrapedLine(line, kind))
    return labelled, section


def _weight(line: ScrapedLine) -> float:
    if line.kind == NOISE:
        return 0.0
    if line.paragraph_shaped:
        return float(len(line.text))
    return -(SHORT_LINE_BASE_COST + SHORT_LINE_LENGTH_COST * len(line.text))


def rule_block(lines: list[ScrapedLine]) -> tuple[int, int]:
    """(start, end) of the rules' highest-scoring contiguous run, never across a BREAK line."""
    return best_run(lines, [_weight(line) for line in lines])


def rule_body(lines: list[ScrapedLine]) -> list[str]:
    """The rules' body: the content lines of their block (the line scorer's baseline and input)."""
    return _block_lines(lines, rule_block(lines))


def _block_lines(lines: list[ScrapedLine], block: tuple[int, int]) -> list[str]:
    start, end = block
    return [line.text for line in lines[start:end] if line.kind == CONTENT]


def scrape_lines(raw: str, deadline: Deadline | None = None) -> tuple[str, list[ScrapedLine], str | None]:
    """Title, labelled lines after it, and the section a label names."""
    lines = [line for line in normalise_text(raw).split("\n") if line.strip()]
    if not lines:
        return "", [], None
    title = pick_title(lines[0])
    labelled, section = classify_lines(lines[1:], title, deadline)
    return title, labelled, section


def clean_text(raw: str, deadline: Deadline | None = None) -> CleanedPage:
    title, labelled, section = scrape_lines(raw, deadline)
    if not title and not labelled:
        return CleanedPage(title="", body="", quality="empty")
    block = rule_block(labelled)
    if len(labelled) <= MAX_SCORED_LINES:
        paragraphs = choose_body(title, labelled, block, shipped_model(), deadline)
    else:
        paragraphs = _block_lines(labelled, block)
    body = join_paragraphs(paragraphs)
    has_running_text = any(bp.is_paragraph_shaped(paragraph) for paragraph in paragraphs)
    return CleanedPage(
        title=title,
        body=body,
        lead=paragraphs[0] if paragraphs else "",
        section=section,
        quality="article" if has_running_text else ("empty" if not body else "index"),
    )
