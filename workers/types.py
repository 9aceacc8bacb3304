"""Data passed between stages. Stage functions take and return these; none of them does I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Page:
    """A raw page as it arrives on the raw topic, after envelope decoding."""

    page_id: str
    url: str | None
    source: str | None
    fetched_at: str | None  # ISO 8601
    content_type: str  # "text/html" or "text/plain", with parameters such as "; charset=..." when given
    raw: str | bytes  # bytes until the clean stage decodes them (bare records, files, `raw_base64`)


@dataclass
class CleanedPage:
    """Output of the clean stage."""

    title: str
    body: str  # paragraphs separated by blank lines
    lead: str = ""
    published_at: str | None = None  # ISO 8601, timezone-aware
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    quality: str = "article"  # "article", or why the page is not one: "index", "paywall", "error", "empty"


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, e.g. "hi"
    script: str  # ISO 15924, e.g. "Deva"
    confidence: float
    mixed: bool = False


@dataclass(frozen=True)
class Topic:
    label: str  # world | tech | politics | other
    score: float
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Entity:
    text: str
    type: str  # PER | ORG | LOC
    start: int  # character offsets into the clean body
    end: int
    canonical: str
    confidence: float = 1.0
    # The canonical is only a transliteration of non-Latin words (no table or text knew the name); the indexer
    # may replace it with the name a story's Latin-script page gives (workers/stages/enrich/canonical.py).
    transliterated: bool = False


def to_dict(obj) -> dict:
    """The fields of one of these (flat) dataclasses as a dict. Not dataclasses.asdict: it deep-copies
    every value, a cost per entity that buys nothing, since stage results share no lists or dicts."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}
