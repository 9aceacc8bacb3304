"""CRF features of each token: the word, its affixes and shape, its neighbours, gazetteer hits and
(Devanagari) the type of the Latin name it sounds like."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex

from workers.stages.enrich.gazetteer import Gazetteer, Match
from workers.stages.enrich.text import match_key
from workers.stages.enrich.translit import NameLexicon

_DIGITS = regex.compile(r"\d")


@lru_cache(maxsize=1 << 17)
def _shape(token: str) -> str:
    """Xxxx → "Xx", U.S. → "X.X.", 1990 → "d", रूस → "a" (scripts without case have one class)."""
    out = []
    for char in token:
        if char.isupper():
            symbol = "X"
        elif char.islower():
            symbol = "x"
        elif char.isdigit():
            symbol = "d"
        elif char.isalpha() or unicodedata.category(char).startswith("M"):
            symbol = "a"
        else:
            symbol = char
        if not out or out[-1] != symbol:
            out.append(symbol)
    return "".join(out)[:6]


@lru_cache(maxsize=1 << 17)
def feature_word(token: str) -> str:
    """The word as the CRF and the word clusters see it: match key with digits as 0."""
    return _DIGITS.sub("0", match_key(token))


def gazetteer_tags(length: int, matches: list[Match]) -> list[str]:
    """BIO tag per token from the longest gazetteer matches ("O" where none)."""
    tags = ["O"] * length
    for match in matches:
        tags[match.start] = "B-" + match.name.type
        for i in range(match.start + 1, match.end):
            tags[i] = "I-" + match.name.type
    return tags


# Prefix lengths of a word's cluster bit string used as features: short prefixes are broad word
# classes (verbs, adjectives), long ones narrow (first names, surnames, towns).
CLUSTER_PREFIXES = (4, 8, 12)


def _cluster_features(name: str, bits: str | None) -> list[str]:
    if bits is None:
        return []
    return [f"{name}{n}={bits[:n]}" for n in CLUSTER_PREFIXES if len(bits) > n] + [f"{name}={bits}"]


def sentence_features(
    tokens: list[str],
    gazetteer: Gazetteer,
    lexicon: NameLexicon | None = None,
    language: str | None = None,
    clusters: dict[str, str] | None = None,
    matches: list[Match] | None = None,
) -> list[list[str]]:
    """Features per token; with a lexicon, Devanagari words that sound like a known Latin name get
    that name's usual type (foreign names in Hindi news are transliterations); with word clusters,
    the cluster of the word and its neighbours (what unlabelled text says about unseen words).
    `matches` are the gazetteer's matches over these tokens when the caller has them already.

    With a language, the case and context features also get a copy prefixed with it: capitalisation and
    context mean different things in German (every noun capitalised) and English, while the shared copy
    carries what the languages have in common (Daume's "frustratingly easy" domain adaptation)."""
    if matches is None:
        matches = gazetteer.match([match_key(token) for token in tokens])
    words = [feature_word(token) for token in tokens]
    shapes = [_shape(token) for token in tokens]
    gaz = gazetteer_tags(len(tokens), matches)
    padded_words = ["<s2>", "<s>", *words, "</s>", "</s2>"]
    padded_shapes = ["<s2>", "<s>", *shapes, "</s>", "</s2>"]
    padded_gaz = ["<s>", *gaz, "</s>"]
    # Headlines and sports tables in capitals: there case says nothing.
    letters = [token for token in tokens if token[:1].isalpha()]
    all_caps_line = len(letters) > 1 and sum(token.isupper() for token in letters) > len(letters) / 2
    sequence = []
    for i, token in enumerate(tokens):
        word, p = words[i], i + 2
        adaptable = [
            "w=" + word,
            "s3=" + word[-3:],
            "sh=" + shapes[i],
            "w-1=" + padded_words[p - 1],
            "w+1=" + padded_words[p + 1],
            "sh-1=" + padded_shapes[p - 1],
            "sh+1=" + padded_shapes[p + 1],
            "g=" + gaz[i],
        ]
        if i == 0:
            adaptable.append("first|sh=" + shapes[i])
        if all_caps_line:
            adaptable.append("caps|sh=" + shapes[i])
        features = [
            "b",
            *adaptable,
            "p2=" + word[:2],
            "p3=" + word[:3],
            "s2=" + word[-2:],
            "s4=" + word[-4:],
            "w-2=" + padded_words[p - 2],
            "w+2=" + padded_words[p + 2],
            "s3-1=" + padded_words[p - 1][-3:],
            "s3+1=" + padded_words[p + 1][-3:],
            "w-1|w=" + padded_words[p - 1] + "|" + word,
            "w|w+1=" + word + "|" + padded_words[p + 1],
            "g-1=" + padded_gaz[i],
            "g+1=" + padded_gaz[i + 2],
        ]
        if lexicon is not None:
            sounds_like = lexicon.sounds_like(token)
            if sounds_like:
                features.append("sl=" + sounds_like)
        if clusters is not None:
            features.extend(_cluster_features("c", clusters.get(word)))
            features.extend(_cluster_features("c-1", clusters.get(padded_words[p - 1])))
            features.extend(_cluster_features("c+1", clusters.get(padded_words[p + 1])))
        if len(token) == 1:
            features.append("single")
        if token.isupper() and len(token) > 1:
            features.append("allcaps")
        if language:
            prefix = language + "|"
            features.extend([prefix + feature for feature in adaptable])
        sequence.append(features)
    return sequence
