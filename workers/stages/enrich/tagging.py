"""Token-level tagging: CRF spans (stacked on the shared encoder's evidence where the script has a contextual
model, see context.py, for the sentences the context gate sends to the encoder, needs_context), completed with unambiguous gazetteer names the CRF missed (except after a contextual
CRF whose ScriptModel says its spans are final: Latin), then, over a whole page, with the names the page tags
elsewhere (repeat_page_names)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from workers.stages.enrich.context import label_probabilities, with_context
from workers.stages.enrich.features import sentence_features
from workers.stages.enrich.gazetteer import Match
from workers.stages.enrich.model import (
    SCRIPT_MODELS,
    context_gate,
    context_model,
    contextual_scripts,
    resources,
    word_clusters,
)
from workers.stages.enrich.model import tagger as plain_crf
from workers.stages.enrich.text import match_key

GAZETTEER_CONFIDENCE = 0.9


@dataclass
class Span:
    start: int  # token indices, end exclusive
    end: int
    type: str
    confidence: float


@lru_cache(maxsize=1 << 17)
def _letters_by_script(token: str) -> tuple[int, int, int]:
    """Letters of a token in Devanagari, in Latin and in other scripts."""
    deva = latin = other = 0
    for char in token:
        if not char.isalpha():
            continue
        if "\u0900" <= char <= "\u097f":
            deva += 1
        elif char.isascii() or "\u00c0" <= char <= "\u024f":
            latin += 1
        else:
            other += 1
    return deva, latin, other


def script_of_tokens(tokens: list[str]) -> str:
    """The script most letters are in: 'Deva', 'Latn' or 'Other' (the first of them on a tie)."""
    deva = latin = other = 0
    for token in tokens:
        token_deva, token_latin, token_other = _letters_by_script(token)
        deva, latin, other = deva + token_deva, latin + token_latin, other + token_other
    counts = {"Deva": deva, "Latn": latin, "Other": other}
    return max(counts, key=counts.get)


def bio_spans(labels: list[str], marginals: dict[int, float]) -> list[Span]:
    """Spans from BIO labels; an I- that does not continue a span of its type starts one. `marginals`:
    the probability of its label for every token inside an entity."""
    spans: list[Span] = []
    for i, label in enumerate(labels):
        if label == "O":
            continue
        prefix, entity_type = label.split("-", 1)
        if prefix == "I" and spans and spans[-1].end == i and spans[-1].type == entity_type:
            spans[-1].end = i + 1
        else:
            spans.append(Span(i, i + 1, entity_type, 0.0))
    for span in spans:
        span.confidence = sum(marginals[i] for i in range(span.start, span.end)) / (span.end - span.start)
    return spans


def _has_letters(tokens: list[str]) -> bool:
    """A person, organisation or place is named in letters (or a flag emoji, which names its country, as
    MultiCoNER tags it): a span of digits and punctuation alone (a year tagged as a place) is the CRF's error.
    Of the 347,582 PER/ORG/LOC spans of the NER sets in ../shared/data, 480 (0.14 %) have no letter: 28 flags,
    the rest annotation noise (commas, dashes, years)."""
    return any(character.isalpha() or "\U0001F1E6" <= character <= "\U0001F1FF" for token in tokens for character in token)


def _looks_like_name(token: str, script: str) -> bool:
    # In cased scripts a name starts with a capital; "china" or "turkey" in lower case is not one.
    return script != "Latn" or token[:1].isupper()


def model_features(tokens: list[str], script: str, lang: str, matches: list[Match]) -> list[list[str]]:
    """The CRF features of a sentence as the script's model was trained with them."""
    config, res = SCRIPT_MODELS[script], resources()
    language = (lang or "").split("-")[0].lower()
    return sentence_features(
        tokens,
        res.gazetteer,
        lexicon=res.lexicon if config.sounds_like else None,
        language=language if language in config.per_language else None,
        clusters=word_clusters(config.name) if config.clusters else None,
        matches=matches,
    )


def _scripts(sentences: list[list[str]]) -> list[str]:
    return [script_of_tokens(tokens) if tokens else "Other" for tokens in sentences]


def needs_context(tokens: list[str], script: str, lang: str, gate: float) -> bool:
    """Whether a sentence of a contextual script goes through the encoder: unless the plain path (CRF and
    gazetteer) tags no name in it and the plain CRF gives every word P(O) >= gate. A Latin sentence without a capital
    letter always goes: the plain CRF reads names from case, so on lower-cased text its certainty means nothing.
    About a third of a news article's words skip the encoder at 0.95 (the model card, "Context gate")."""
    if gate >= 1.0 or (script == "Latn" and not any(char.isupper() for token in tokens for char in token)):
        return True
    spans, certainty = _tagged(tokens, script, lang, None)
    return bool(spans) or certainty < gate


def contextual_evidence(sentences: list[list[str]], langs: list[str], tagger: str | None = None,
                        gate: float | None = None) -> list[np.ndarray | None]:
    """The context heads' label probabilities of each sentence (of language `langs[i]`) of a script the tagger (the
    `entity_tagger` setting unless given) reads in context and that needs_context at `gate` (the
    `entity_context_gate` setting unless given), None for the others, which the plain CRF tags: one batched
    encoder pass for all of them, whatever page each comes from."""
    scripts = _scripts(sentences)
    evidence: list[np.ndarray | None] = [None] * len(sentences)
    allowed = contextual_scripts(tagger)
    gate = context_gate() if gate is None else gate
    heads = {script: model.head for script in set(scripts) & allowed if (model := context_model(script))}
    chosen = [i for i, (tokens, script, lang) in enumerate(zip(sentences, scripts, langs, strict=True))
              if script in heads and tokens and needs_context(tokens, script, lang, gate)]
    for i, probabilities in zip(chosen, label_probabilities([sentences[i] for i in chosen],
                                                            [heads[scripts[i]] for i in chosen])):
        evidence[i] = probabilities
    return evidence


def tag_sentences(sentences: list[list[str]], lang: str, tagger: str | None = None,
                  evidence: list[np.ndarray | None] | None = None, gate: float | None = None) -> list[list[Span]]:
    """Spans of each sentence, with `evidence` from contextual_evidence (computed here at `gate`, in one pass for
    these sentences, when not given)."""
    if evidence is None:
        evidence = contextual_evidence(sentences, [lang] * len(sentences), tagger, gate)
    return [_tag(tokens, script, lang, probabilities) if tokens else []
            for tokens, script, probabilities in zip(sentences, _scripts(sentences), evidence, strict=True)]


def tag_spans(tokens: list[str], lang: str) -> list[Span]:
    return tag_sentences([tokens], lang)[0]


def _tag(tokens: list[str], script: str, lang: str, evidence: np.ndarray | None) -> list[Span]:
    return _tagged(tokens, script, lang, evidence)[0]


def _tagged(tokens: list[str], script: str, lang: str, evidence: np.ndarray | None) -> tuple[list[Span], float | None]:
    """The sentence's spans and, on the plain path (no evidence), the least probability of `O` (no name) its CRF
    gives a word (1 where the script has no CRF); None on the contextual path, where nothing asks for it."""
    res = resources()
    keys = [match_key(token) for token in tokens]
    matches = res.gazetteer.match(keys)
    spans: list[Span] = []
    features = model_features(tokens, script, lang, matches) if script in SCRIPT_MODELS else None
    crf = plain_crf(script)
    certainty = None if evidence is not None else 1.0
    if evidence is not None:
        crf = context_model(script).crf
        features = with_context(features, evidence)
    if crf is not None:
        labels = crf.tag(features)
        marginals = {i: crf.marginal(label, i) for i, label in enumerate(labels) if label != "O"}
        spans = [span for span in bio_spans(labels, marginals) if _has_letters(tokens[span.start : span.end])]
        if certainty is not None:
            certainty = min(crf.marginal("O", i) for i in range(len(tokens)))
    if evidence is not None and SCRIPT_MODELS[script].context_spans_final:
        return spans, certainty
    # A known name the CRF missed, or only found part of (किम जोंग of किम जोंग उन), is added; one
    # that cuts across a CRF span is left to the CRF.
    ambiguous = res.ambiguous.get(script, frozenset())
    for match in matches:
        if (
            match.name.generic
            or tuple(keys[match.start : match.end]) in ambiguous
            or not _looks_like_name(tokens[match.start], script)
        ):
            continue
        overlapping = [span for span in spans if span.start < match.end and match.start < span.end]
        inside = all(match.start <= span.start and span.end <= match.end for span in overlapping)
        exact = any(span.start == match.start and span.end == match.end for span in overlapping)
        if exact and match.name.curated and match.name.type != "LOC":
            # A curated person or organisation keeps its type (White House is an ORG); a place name
            # can stand for a team or a government, which the CRF reads from the context.
            for span in overlapping:
                span.type = match.name.type
        elif inside and not exact:
            spans = [span for span in spans if span not in overlapping]
            spans.append(Span(match.start, match.end, match.name.type, GAZETTEER_CONFIDENCE))
    spans.sort(key=lambda span: span.start)
    return (add_bracketed_aliases(tokens, spans) if script == "Deva" else spans), certainty


# An organisation or place followed by one bracketed word names it again: भारतीय उद्योग परिसंघ ( सीआईआई ),
# पाटलिपुत्र ( पटना ). People are left out: after a person the brackets hold years or a sport.
_ALIAS_TYPES = {"ORG", "LOC"}


def add_bracketed_aliases(tokens: list[str], spans: list[Span]) -> list[Span]:
    """The Hindi training rows tag such a word with the name's type 437 times and leave it untagged 53
    (31 of them MultiCoNER, which never tags it); the CRF misses some when the name is new to it."""
    covered = {i for span in spans for i in range(span.start, span.end)}
    added = []
    for span in spans:
        i = span.end
        if (
            span.type in _ALIAS_TYPES
            and i + 2 < len(tokens)
            and tokens[i] == "("
            and tokens[i + 2] == ")"
            and i + 1 not in covered
            and any(char.isalpha() for char in tokens[i + 1])
        ):
            added.append(Span(i + 1, i + 2, span.type, span.confidence))
    return sorted(spans + added, key=lambda span: span.start)


def repeat_page_names(sentences: list[list[str]], spans: list[list[Span]]) -> list[list[Span]]:
    """The spans of a page's sentences, plus every untagged recurrence of a name the page tags elsewhere.

    The CRF reads one sentence at a time, so a name it tags in one context it can miss in another (a surname
    list, a headline, a name beside an unfamiliar word). A recurrence takes the type the page gives that string
    most often (the first tagged on a tie) and the best confidence of those spans; the longest name wins where
    several start at one token, and it must look like a name where case tells (a capital in Latin script).
    Spans already found are never changed, so a page without repeats keeps exactly what its sentences got."""
    types: dict[tuple[str, ...], Counter] = {}
    confidence: dict[tuple[tuple[str, ...], str], float] = {}
    for tokens, sentence_spans in zip(sentences, spans, strict=True):
        for span in sentence_spans:
            key = tuple(tokens[span.start : span.end])
            types.setdefault(key, Counter())[span.type] += 1
            confidence[key, span.type] = max(confidence.get((key, span.type), 0.0), span.confidence)
    if not types:
        return spans
    longest = max(map(len, types))
    first_tokens = {key[0] for key in types}
    completed = []
    for tokens, sentence_spans in zip(sentences, spans):
        covered = [False] * len(tokens)
        for span in sentence_spans:
            covered[span.start : span.end] = [True] * (span.end - span.start)
        script = script_of_tokens(tokens)
        added, i = [], 0
        while i < len(tokens):
            if covered[i] or tokens[i] not in first_tokens or not _looks_like_name(tokens[i], script):
                i += 1
                continue
            for length in range(min(longest, len(tokens) - i), 0, -1):
                key = tuple(tokens[i : i + length])
                if key in types and not any(covered[i : i + length]):
                    entity_type = types[key].most_common(1)[0][0]
                    added.append(Span(i, i + length, entity_type, confidence[key, entity_type]))
                    i += length
                    break
            else:
                i += 1
        completed.append(sorted(sentence_spans + added, key=lambda span: span.start) if added else sentence_spans)
    return completed
