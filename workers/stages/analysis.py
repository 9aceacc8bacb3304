"""Per-language analysis: which engine analyzer reads a page's title and body, and which fields a query searches.

Every page keeps `title` and `body` under the standard analyzer, plus the `hi` and `en` multi-fields (Hindi and
English analysis of every page, as before) and the `grams` multi-fields (character 4-grams of every word, below). A page in one of ROUTED_ANALYZERS is also routed: its title and body
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

# Subword fields of every page: `title.grams` and `body.grams`, the standard tokens cut into overlapping
# character 4-grams (the template's `newswire_grams` analyzer; 4-grams are the usual choice for n-gram retrieval
# in European and Indian languages, not tuned here). They let a headline's `Huizenprijzen` meet a body's
# `prijzen`, or an inflected form meet another where a language has no stemmer, or one that misses the form.
# Their share of the score against the word fields' 1, chosen on the tune half of the search eval set by mean
# MRR@10 (docs/search.md): small where the query's language has an analyzer (they complement it), large where
# it has none or is not known (they are then the only evidence of a word's other forms).
SUBWORD_WEIGHT_ANALYSED = 0.2
SUBWORD_WEIGHT_UNANALYSED = 2.0
SUBWORD_ANALYZER = "newswire_grams"
SUBWORD_FIELD = "grams"  # the multi-field's name under `title` and `body`
SUBWORD_GRAM = 4


def index_analysis() -> dict:
    """The index settings' analysis section: the subword analyzer (standard tokens, lower case, 4-grams; the
    `ngram` filter is analysis-common's in production, the local plugin's on the local stack)."""
    return {"filter": {"newswire_4grams": {"type": "ngram", "min_gram": SUBWORD_GRAM, "max_gram": SUBWORD_GRAM}},
            "analyzer": {SUBWORD_ANALYZER: {"type": "custom", "tokenizer": "standard",
                                            "filter": ["lowercase", "newswire_4grams"]}}}


def subword_mapping() -> dict:
    return {"type": "text", "analyzer": SUBWORD_ANALYZER}


def subword_fields(weight: float) -> list[str]:
    if weight <= 0:
        return []
    return [f"title.{SUBWORD_FIELD}^{round(3 * weight, 3)}", f"body.{SUBWORD_FIELD}^{round(weight, 3)}"]


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


def query_fields(lang: str | None = None, subword_weight: float | None = None) -> list[str]:
    """Where a full-text query looks: the standard and subword fields plus the fields of `lang` and of the
    languages read by the same analyzer (a short Han query detected as Chinese may be Japanese: zh, ja and ko are
    all `cjk`), or of every covered language when the query's language is not given (each routed field holds
    only pages of its language, so the others match nothing). `subword_weight` overrides the subword fields'
    share (the eval's sweep)."""
    if subword_weight is None:
        subword_weight = SUBWORD_WEIGHT_ANALYSED if lang in COVERED_LANGUAGES else SUBWORD_WEIGHT_UNANALYSED
    if lang is None:
        languages = COVERED_LANGUAGES
    elif lang in ROUTED_ANALYZERS:
        languages = [code for code, analyzer in ROUTED_ANALYZERS.items() if analyzer == ROUTED_ANALYZERS[lang]]
    else:
        languages = [lang]
    return (STANDARD_FIELDS + subword_fields(subword_weight)
            + [field for code in languages for field in language_fields(code)])


def mapping_properties() -> dict:
    """The routed fields' mapping, merged into the index template."""
    def by_lang() -> dict:
        return {"properties": {lang: {"type": "text", "analyzer": analyzer} for lang, analyzer in ROUTED_ANALYZERS.items()}}
    return {"title_by_lang": by_lang(), "body_by_lang": by_lang()}
