"""Tokenising with character offsets, and the key used to look names up."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex

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
