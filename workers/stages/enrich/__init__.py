"""Enrich stage: named entities (PER, ORG, LOC) with canonical names.

extract_entities(text, lang) tokenises the text, splits it into sentences, tags them with the model of
their script plus gazetteer names, tags the untagged recurrences of names the page tags elsewhere (find_mentions),
and gives every mention a canonical name in the context of the whole text (canonical.py). Devanagari and
Latin-script sentences go through the shared encoder first (unless the plain CRF is sure they name nobody: the
context gate, tagging.needs_context), all of a page's in one batch, or all of a stage
batch's pages' with extract_entities_batch (context.py); the `entity_tagger` setting limits that to Devanagari
("context-deva") or turns it off ("crf"). The models ship in workers/models/entities (see MODEL_CARD.md there)
and load once, on first use.
"""

from __future__ import annotations

from workers.stages.enrich.canonical import resolve_names
from workers.stages.enrich.model import entity_tagger
from workers.stages.enrich.tagging import Span, contextual_evidence, repeat_page_names, tag_sentences, tag_spans
from workers.stages.enrich.text import tokenize
from workers.types import Entity

# What documents say for each `entity_tagger` value; model_version() says what runs.
# The page pass (repeat_page_names) made ctx-3 ctx-4, ctx-1 ctx-deva-2 and crf-3 crf-4; dropping spans without
# letters (tagging._has_letters) and reading the title in the page pass made them ctx-5, ctx-deva-3 and crf-5; the
# context gate (tagging.needs_context: a sentence the plain CRF is sure names nobody skips the encoder) ctx-6 and
# ctx-deva-4.
MODEL_VERSIONS = {"context": "entities-ctx-6", "context-deva": "entities-ctx-deva-4", "crf": "entities-crf-5"}
MODEL_VERSION = MODEL_VERSIONS["context"]  # the shipped default

_SENTENCE_ENDS = {".", "!", "?", "।", "॥", "|"}
_MAX_SENTENCE_TOKENS = 150


def model_version() -> str:
    return MODEL_VERSIONS[entity_tagger()]


def tag_token_batches(sentences: list[list[str]], lang: str, tagger: str | None = None) -> list[list[tuple[int, int, str]]]:
    """tag_tokens of several sentences, with one encoder pass for all of them."""
    return [[(span.start, span.end, span.type) for span in spans] for spans in tag_sentences(sentences, lang, tagger)]


def tag_tokens(tokens: list[str], lang: str) -> list[tuple[int, int, str]]:
    """Entity spans over tokens: (start, end exclusive, type). The script picks the model; lang
    selects the language-specific features of the Latin model."""
    return [(span.start, span.end, span.type) for span in tag_spans(tokens, lang)]


def _sentences(text: str, tokens: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Token ranges of sentences: cut after end punctuation, at paragraph breaks and at a length cap."""
    ranges, start = [], 0
    for i, (token, _, end) in enumerate(tokens):
        next_start = tokens[i + 1][1] if i + 1 < len(tokens) else len(text)
        paragraph_break = "\n" in text[end:next_start]
        if token in _SENTENCE_ENDS or paragraph_break or i + 1 - start >= _MAX_SENTENCE_TOKENS:
            ranges.append((start, i + 1))
            start = i + 1
    if start < len(tokens):
        ranges.append((start, len(tokens)))
    return ranges


def _page_sentences(text: str, title: str | None) -> tuple[list[tuple[str, int, int]], list[tuple[int, int]], list[list[str]]]:
    """The text's tokens, its sentences' token ranges, and the sentences the tagger reads: the title's first."""
    tokens = tokenize(text)
    words = [token for token, _, _ in tokens]
    ranges = _sentences(text, tokens)
    heading = [[token for token, _, _ in tokenize(title)]] if title else []
    return tokens, ranges, heading + [words[first:last] for first, last in ranges]


def _mentions(ranges: list[tuple[int, int]], sentences: list[list[str]], spans: list[list[Span]]) -> list[tuple[int, int, Span]]:
    """The page pass over all of a page's sentences, then the text's spans as token offsets (the title's dropped)."""
    tagged = repeat_page_names(sentences, spans)[len(sentences) - len(ranges):]
    return [(first + span.start, first + span.end, span)
            for (first, _), sentence_spans in zip(ranges, tagged, strict=True) for span in sentence_spans]


def find_mentions(text: str, lang: str, tagger: str | None = None,
                  title: str | None = None) -> tuple[list[tuple[str, int, int]], list[tuple[int, int, Span]]]:
    """The text's tokens (token, start, end) and its entity spans (first token, last token + 1, span),
    tagged sentence by sentence and completed over the page (`tagger`: one of model.TAGGERS; default the
    `entity_tagger` setting). The page's `title`, when given, is tagged as one more sentence of the page: a name
    it tags is tagged where it recurs in the text (the page pass), but only the text's mentions are returned."""
    tokens, ranges, sentences = _page_sentences(text, title)
    return tokens, _mentions(ranges, sentences, tag_sentences(sentences, lang, tagger))


def _entities(text: str, tokens: list[tuple[str, int, int]], found: list[tuple[int, int, Span]]) -> list[Entity]:
    words = [token for token, _, _ in tokens]
    names = resolve_names(words, [(start, end, span.type) for start, end, span in found])
    entities = []
    for (start, end, span), (canonical, transliterated) in zip(found, names, strict=True):
        char_start, char_end = tokens[start][1], tokens[end - 1][2]
        entities.append(
            Entity(
                text=text[char_start:char_end],
                type=span.type,
                start=char_start,
                end=char_end,
                canonical=canonical,
                confidence=round(span.confidence, 4),
                transliterated=transliterated,
            )
        )
    return entities


def extract_entities(text: str, lang: str, tagger: str | None = None, title: str | None = None) -> list[Entity]:
    """Entities of the text (offsets into it); `title` is read as context only (see find_mentions)."""
    return extract_entities_batch([(text, lang, title)], tagger)[0]


def extract_entities_batch(pages: list[tuple[str, str, str | None]], tagger: str | None = None,
                           gate: float | None = None) -> list[list[Entity]]:
    """extract_entities of each (text, lang, title), with one encoder pass over the sentences of all the pages:
    a stage batch's sentences sorted by length together pad less than each page's alone (docs/benchmarks.md).
    `gate`: the context gate (default: the `entity_context_gate` setting; tagging.needs_context)."""
    prepared = [_page_sentences(text, title) for text, _, title in pages]
    all_sentences = [sentence for _, _, sentences in prepared for sentence in sentences]
    all_langs = [lang for (_, lang, _), (_, _, sentences) in zip(pages, prepared) for _ in sentences]
    evidence = iter(contextual_evidence(all_sentences, all_langs, tagger, gate))
    results = []
    for (text, lang, _), (tokens, ranges, sentences) in zip(pages, prepared):
        page_evidence = [next(evidence) for _ in sentences]
        spans = tag_sentences(sentences, lang, tagger, evidence=page_evidence)
        results.append(_entities(text, tokens, _mentions(ranges, sentences, spans)))
    return results
