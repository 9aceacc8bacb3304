"""Tokenising with character offsets, and the keys used to look names up: the exact match key and,
for spelling variants of the same name, the looser phonetic key."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex
from anyascii import anyascii

# One token: an abbreviation or initial with dots (U.S., J.), a word whose parts are joined by
# hyphens or apostrophes (O'Brien, गोला-बारूद; "Putin's" splits off "'s" as CoNLL does), or any
# other single non-space character (so the danda । and punctuation are tokens of their own).
# Devanagari vowel signs are marks (\p{M}), so they stay inside the word.
_WORD = r"[\p{L}\p{M}\p{N}\u200c\u200d]+"  # with the zero-width (non-)joiners of Indic text
TOKEN_RE = regex.compile(
    rf"(?:\p{{Lu}}\.){{2,}}|\p{{Lu}}\.(?=\s)"
    rf"|{_WORD}(?:-{_WORD}|['’](?![sS]\b){_WORD})*"
    r"|['’][sS]\b"
    r"|\S",
)

_FREE_VARIATION = regex.compile("[\u093c\u200c\u200d]")  # nukta, zero-width non-joiner and joiner
_CHANDRABINDU = "\u0901"
_ANUSVARA = "\u0902"


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) with text[start:end] == token."""
    return [(m.group(), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


@lru_cache(maxsize=1 << 17)
def match_key(token: str) -> str:
    """Spelling-insensitive key: case-folded, Hindi nukta and zero-width joiners dropped, chandrabindu as anusvara.

    Hindi news writes ज़ेलेंस्की and जेलेंस्की, कहाँ and कहां: the nukta and the nasal sign are the
    commonest free variation, so both sides of every lookup drop them.
    """
    key = _FREE_VARIATION.sub("", unicodedata.normalize("NFD", token)).replace(_CHANDRABINDU, _ANUSVARA)
    return unicodedata.normalize("NFC", key).casefold()


# Hindi spells one name several ways; the phonetic key folds the variants that sound alike, on top of
# the match key's nukta, joiner and nasal folding:
# - a nasal consonant with a virama before a stop or sibilant is the anusvara (सुन्दर = सुंदर);
# - a final ह after आ is silent (अल्लाह = अल्ला);
# - no virama at all (स्टार्मर = स्टारमर: Hindi drops the schwa either way; हैदराबाद् = हैदराबाद);
# - vowel length (ि/ी, ु/ू) and the open vowels foreign names are written with (ऑ/ओ/औ/आ, ॅ/ै/े);
# - sounds English has one letter for: व/ब, श/ष/स, ट/त, ठ/थ, ड/द, ढ/ध, ण/न, ऋ/रि;
# - a doubled consonant once (मोहम्मद = मोहमद), hyphens as spaces (जोंग-उन = जोंग उन).
# Before a stop, a nasal or a sibilant (वेन्स = वेंस); न्य, न्ह stay "ny", "nh".
_NASAL_BEFORE_CONSONANT = regex.compile("[ङञणनम]\u094d(?=[\u0915-\u092e\u0936-\u0938])")
_FINAL_SILENT_H = regex.compile("\u093e\u0939$")  # हिज़्बुल्लाह = हिज़्बुल्ला
_PHONETIC_FOLDS = str.maketrans(
    {
        "\u094d": None,  # virama
        "ी": "ि", "ू": "ु", "ै": "े", "ॅ": "े", "ॆ": "े", "ो": "ा", "ौ": "ा", "ॉ": "ा", "ॊ": "ा",
        "ई": "इ", "ऊ": "उ", "ऐ": "ए", "ऍ": "ए", "ऎ": "ए", "ओ": "आ", "औ": "आ", "ऑ": "आ", "ऒ": "आ",
        "व": "ब", "श": "स", "ष": "स", "ट": "त", "ठ": "थ", "ड": "द", "ढ": "ध", "ण": "न",
        "ऋ": "रि", "ृ": "्रि", "-": " ",
    }
)
_DOUBLED_CONSONANT = regex.compile(r"([\u0915-\u0939])(?:\u094d?\1)+")
_LATIN_NOISE = regex.compile(r"[^a-z0-9 ]+")


def is_devanagari(token: str) -> bool:
    return any("\u0900" <= char <= "\u097f" for char in token)


@lru_cache(maxsize=1 << 17)
def phonetic_key(token: str) -> str:
    """Key under which spelling variants of a name meet: Devanagari folded as above; other scripts
    in ASCII (Erdoğan = Erdogan, Kim Jong-un = Kim Jong Un). May hold spaces (from hyphens)."""
    key = match_key(token)
    if not is_devanagari(key):
        return " ".join(_LATIN_NOISE.sub(" ", anyascii(key).lower()).split())
    key = _NASAL_BEFORE_CONSONANT.sub("\u0902", _DOUBLED_CONSONANT.sub(r"\1", key))
    key = _FINAL_SILENT_H.sub("\u093e", key)
    # Twice: the ृ fold brings a virama back, which the second pass drops.
    key = key.translate(_PHONETIC_FOLDS).translate(_PHONETIC_FOLDS)
    return " ".join(_DOUBLED_CONSONANT.sub(r"\1", key).split())


def phonetic_name_key(tokens: list[str]) -> str:
    """The phonetic key of a multi-word name: its tokens' keys with single spaces."""
    return " ".join(key for key in (phonetic_key(token) for token in tokens) if key)
