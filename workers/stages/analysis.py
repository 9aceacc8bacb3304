"""Per-language analysis: which engine analyzer reads a page's title and body, and which fields a query searches.

Every page keeps `title` and `body` under the standard analyzer, plus the `hi` and `en` multi-fields (Hindi and
English analysis of every page, as before). A page in one of ROUTED_ANALYZERS is also routed: its title and body
are copied into `title_by_lang.<lang>` and `body_by_lang.<lang>`, mapped with that language's analyzer, so each
page is analysed once more, in its own language only (a multi-field per language would run all of them on every
page). The analyzers are Lucene's language analyzers under the names the engine's analysis-common module gives
them (the full distribution has them; the local stack's plugin registers the same Lucene classes), and
`ukrainian`, which is not in analysis-common: Lucene's morfologik module (UkrainianMorfologikAnalyzer, a
dictionary lemmatiser) served by Elastic's analysis-ukrainian plugin, which the production engine must have
installed (an engine without it rejects the index template); the local plugin bundles the module's jars.

No Lucene analyzer exists for Marathi or Urdu (nor for most other Indian languages): those pages are searched
through the standard fields, whose Unicode word segmentation reads their scripts correctly; a stemmer of a
neighbouring language (Hindi for Marathi, Persian for Urdu) would strip the wrong suffixes.
"""

from __future__ import annotations

# Always present on every page (multi-fields of `title` and `body`).
MULTI_FIELD_ANALYZERS = {"hi": "hindi", "en": "english"}

# Routed: only pages detected in the language carry these fields.
ROUTED_ANALYZERS = {
    "ar": "arabic", "bn": "bengali", "fa": "persian", "ru": "russian", "de": "german", "fr": "french",
    "es": "spanish", "pt": "portuguese", "it": "italian", "nl": "dutch", "tr": "turkish", "id": "indonesian",
    # Not analysis-common's: Elastic's analysis-ukrainian plugin (Lucene's UkrainianMorfologikAnalyzer).
    "uk": "ukrainian",
    # CJK bigrams (Lucene's CJKAnalyzer): overlapping pairs of Han, Hiragana, Katakana and Hangul characters
    # instead of the standard analyzer's one token per ideograph.
    "zh": "cjk", "ja": "cjk", "ko": "cjk",
}

COVERED_LANGUAGES = sorted({*MULTI_FIELD_ANALYZERS, *ROUTED_ANALYZERS})

STANDARD_FIELDS = ["title^3", "body"]


def routed_fields(lang: str, title: str, body: str) -> dict:
    """The routed copies of a page's text, to merge into its `_source` (nothing for an unrouted language)."""
    if lang not in ROUTED_ANALYZERS:
        return {}
    return {"title_by_lang": {lang: title}, "body_by_lang": {lang: body}}


def language_fields(lang: str) -> list[str]:
    """The fields analysed in `lang`, title boosted as in STANDARD_FIELDS."""
    if lang in MULTI_FIELD_ANALYZERS:
        return [f"title.{lang}^3", f"body.{lang}"]
    if lang in ROUTED_ANALYZERS:
        return [f"title_by_lang.{lang}^3", f"body_by_lang.{lang}"]
    return []


def query_fields(lang: str | None = None) -> list[str]:
    """Where a full-text query looks: the standard fields plus the fields of `lang` and of the languages read by
    the same analyzer (a short Han query detected as Chinese may be Japanese: zh, ja and ko are all `cjk`), or of
    every covered language when the query's language is not given (each routed field holds only pages of its
    language, so the others match nothing)."""
    if lang is None:
        languages = COVERED_LANGUAGES
    elif lang in ROUTED_ANALYZERS:
        languages = [code for code, analyzer in ROUTED_ANALYZERS.items() if analyzer == ROUTED_ANALYZERS[lang]]
    else:
        languages = [lang]
    return STANDARD_FIELDS + [field for code in languages for field in language_fields(code)]


def mapping_properties() -> dict:
    """The routed fields' mapping, merged into the index template."""
    def by_lang() -> dict:
        return {"properties": {lang: {"type": "text", "analyzer": analyzer} for lang, analyzer in ROUTED_ANALYZERS.items()}}
    return {"title_by_lang": by_lang(), "body_by_lang": by_lang()}
