"""Cleaning an HTML page: trafilatura finds the article body and metadata; we shape its output.

trafilatura's XML-like body tree gives one element per block (p, head, list, quote, table); each block becomes
one paragraph, list items and table rows one paragraph each. Captions and "also read" blocks it lets through
are dropped with the same line rules as the text path.
"""

from __future__ import annotations

import re

import trafilatura

from workers.stages.clean import boilerplate as bp
from workers.stages.clean.limits import Deadline
from workers.stages.clean.normalize import join_paragraphs, normalise_text
from workers.types import CleanedPage

# Below this many characters from the fast extraction, run trafilatura again with its fallback extractors.
FALLBACK_BELOW_CHARS = 500
# A body shorter than this many words, on a page with many links, is a listing rather than an article.
INDEX_MAX_BODY_WORDS = 60
INDEX_MIN_LINKS = 30
_LINK = re.compile(r"<a\s", re.IGNORECASE)
# Only dates the markup states (extensive search runs dateparser over the text: seconds on some pages).
# Ask for the time too; a date found without one is stored as midnight UTC.
_DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


def _block_text(element) -> str:
    """Text of one block with <lb/> as line breaks."""
    parts = []
    for node in element.iter():
        if node.tag == "lb":
            parts.append("\n")
        if node.text and node.tag != "lb":
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(node.tail)
    return "".join(parts)


def _blocks(body) -> list[str]:
    blocks = []
    for child in body:
        if child.tag == "list":
            blocks.extend(_block_text(item) for item in child.iter("item"))
        elif child.tag == "table":
            blocks.extend(" ".join(_block_text(cell) for cell in row) for row in child.iter("row"))
        else:
            blocks.append(_block_text(child))
    return [normalise_text(block).strip() for block in blocks]


def _drop_boilerplate(blocks: list[str]) -> list[str]:
    kept = []
    after_credit = False
    for block in blocks:
        words = bp.word_count(block)
        if words == 0:
            continue
        is_credit = bool(bp.CREDIT.match(block))
        related = bp.RELATED_MARKER.match(block)
        if is_credit or (after_credit and words <= 25) or (related and words <= 25) or bp.is_teaser(block) and words <= 40:
            after_credit = is_credit
            continue
        after_credit = False
        kept.append(block)
    return kept


def _quality(paragraphs: list[str], raw: str) -> str:
    if not paragraphs:
        return "empty"
    lines = [line for paragraph in paragraphs for line in paragraph.split("\n")]
    if not any(bp.is_paragraph_shaped(line) for line in lines):
        return "index"
    if sum(map(bp.word_count, lines)) < INDEX_MAX_BODY_WORDS and len(_LINK.findall(raw)) >= INDEX_MIN_LINKS:
        return "index"
    return "article"


def _without_leading_title(paragraphs: list[str], title: str) -> list[str]:
    """trafilatura often starts the body with the headline; the title has its own field."""
    title_tokens = bp.tokens(title)
    while paragraphs and title_tokens and bp.tokens(paragraphs[0]) == title_tokens:
        paragraphs = paragraphs[1:]
    return paragraphs


def _iso_datetime(value: str | None) -> str | None:
    if not value:
        return None
    if re.search(r"[+-]\d{4}$", value):
        return value[:-2] + ":" + value[-2:]
    return value + "+00:00"


def _extract(raw: str, url: str | None, fast: bool):
    return trafilatura.bare_extraction(
        raw,
        url=url,
        fast=fast,
        favor_precision=True,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params=_DATE_PARAMS,
    )


def _body_length(document) -> int:
    return len(document.text or "") if document is not None else 0


def clean_html(raw: str, url: str | None = None, deadline: Deadline | None = None) -> CleanedPage:
    # trafilatura's own extractor alone ("fast") is about twice as fast and more precise; its fallbacks
    # (readability, jusText) are only needed when it finds (almost) nothing.
    document = _extract(raw, url, fast=True)
    if _body_length(document) < FALLBACK_BELOW_CHARS:
        if deadline is not None:
            deadline.check()
        document = _extract(raw, url, fast=False)
    if deadline is not None:
        deadline.check()
    if document is None or document.body is None:
        return CleanedPage(title="", body="", quality="empty")
    title = normalise_text(document.title or "").strip()
    paragraphs = _without_leading_title(_drop_boilerplate(_blocks(document.body)), title)
    body = join_paragraphs(paragraphs)
    categories = [category for category in (document.categories or []) if category]
    return CleanedPage(
        title=title,
        body=body,
        lead=normalise_text(document.description or "").strip() or (paragraphs[0] if paragraphs else ""),
        published_at=_iso_datetime(document.date),
        authors=[name.strip() for name in (document.author or "").split(";") if name.strip()],
        section=categories[0] if categories else None,
        site_name=document.sitename or None,
        canonical_url=document.url or url,
        quality=_quality(paragraphs, raw),
    )
