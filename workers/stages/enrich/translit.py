"""Latin spelling of names written in other scripts, for canonical names of entities no table knows.

A Devanagari word is, in order: an English spelling learnt from the name tables (बनर्जी →
"Banerjee", from ममता बनर्जी = Mamata Banerjee); for organisations and places, an English word their
names borrow (`english_words.tsv`: नेशनल → "National"); a spelling learnt from parallel Hindi/English
sentences (`name_pairs.json.gz`, `newswire train names`: एजियन → "Aegean"); for organisations, an
initialism spelled in English letter names (सीआईआई → "CII"); else a news-style romanisation (the spelling
Indian English papers use: "sh", "ch", no diacritics) with Hindi schwa deletion, snapped to the
nearest spelling in a lexicon of Latin-script name tokens when one sounds the same (जॉन → "jon" →
"John", किर्बी → "kirbi" → "Kirby"). Other scripts go through anyascii.
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

from anyascii import anyascii

from workers.stages.enrich.text import is_devanagari, match_key

_CONSONANTS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n",
    "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n",
    "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "f", "ब": "b", "भ": "bh", "म": "m",
    "य": "y", "र": "r", "ल": "l", "ळ": "l", "व": "v",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
}
# Consonant + nukta: the Perso-Arabic and English sounds.
_NUKTA_CONSONANTS = {"क": "q", "ख": "kh", "ग": "gh", "ज": "z", "ड": "r", "ढ": "rh", "फ": "f", "य": "y"}
_INDEPENDENT_VOWELS = {
    "अ": "a", "आ": "a", "इ": "i", "ई": "i", "उ": "u", "ऊ": "u", "ऋ": "ri",
    "ए": "e", "ऐ": "ai", "ओ": "o", "औ": "au", "ऑ": "o", "ऍ": "e", "ऎ": "e", "ऒ": "o",
}
_VOWEL_SIGNS = {
    "ा": "a", "ि": "i", "ी": "i", "ु": "u", "ू": "u", "ृ": "ri",
    "े": "e", "ै": "ai", "ो": "o", "ौ": "au", "ॉ": "o", "ॅ": "e", "ॆ": "e", "ॊ": "o",
}
_VIRAMA, _NUKTA, _ANUSVARA, _CHANDRABINDU, _VISARGA = "्", "़", "ं", "ँ", "ः"
_LABIALS = ("p", "b", "m")
_BEFORE_W = ("s", "sh", "d", "dh", "t", "j")
# English letters as Hindi writes their names (बीजेपी = B J P), match keys (no nukta: ज़ेड = जेड).
_LETTER_NAMES = {
    "ए": "A", "बी": "B", "सी": "C", "डी": "D", "ई": "E", "एफ": "F", "जी": "G", "एच": "H", "आई": "I",
    "जे": "J", "के": "K", "एल": "L", "एम": "M", "एन": "N", "ओ": "O", "पी": "P", "क्यू": "Q", "आर": "R",
    "एस": "S", "टी": "T", "यू": "U", "वी": "V", "डब्ल्यू": "W", "डबल्यू": "W", "एक्स": "X", "वाई": "Y",
    "जेड": "Z", "ज़ेड": "Z",
}
_LONGEST_LETTER_NAME = max(map(len, _LETTER_NAMES))
# A spelling a name snaps to may be this many letters longer or shorter than the romanisation
# (पिचाई "pichai" is not "Pic", सुंदर "sundar" not "Soundarya").
_MAX_SNAP_LENGTH_CHANGE = 2
# ... and must be this alike, and end in the same vowel (or both in a consonant): शशि "shashi" is not
# "Sass", सिंधु "sindhu" not "Cindy".
_MIN_SNAP_SIMILARITY = 0.8


def romanize_devanagari(word: str) -> str:
    """Lower-case Latin spelling of one Devanagari word (e.g. व्लादिमीर → "vladimir", सर्गेई → "sargei")."""
    word = unicodedata.normalize("NFD", word)
    # Units: (latin, kind) with kind "C" consonant carrying an inherent schwa, "c" consonant
    # without one (virama or followed by a vowel sign), "V" vowel, "N" nasal, "O" other.
    units: list[list[str]] = []
    for char in word:
        if char in _CONSONANTS:
            units.append([_CONSONANTS[char], "C"])
        elif char == _NUKTA and units and units[-1][1] == "C":
            base = next((k for k, v in _CONSONANTS.items() if v == units[-1][0]), "")
            units[-1][0] = _NUKTA_CONSONANTS.get(base, units[-1][0])
        elif char in _VOWEL_SIGNS and units and units[-1][1] == "C":
            units[-1][1] = "c"
            units.append([_VOWEL_SIGNS[char], "V"])
        elif char == _VIRAMA and units and units[-1][1] == "C":
            units[-1][1] = "c"
        elif char in _INDEPENDENT_VOWELS:
            units.append([_INDEPENDENT_VOWELS[char], "V"])
        elif char in (_ANUSVARA, _CHANDRABINDU):
            units.append(["n", "N"])
        elif char == _VISARGA:
            units.append(["h", "O"])
        elif char.isdigit() or char.isascii():
            units.append([char.lower(), "O"])
    # Hindi schwa deletion: a consonant's inherent "a" is silent at the end of a word and in
    # V C(a) C V, reading right to left so each deletion sees the decisions after it.
    # The last consonant is silent too, except as below and after ीय (राष्ट्रीय "rashtriya").
    schwa = [kind == "C" for _, kind in units]
    last = len(units) - 1
    if last > 0:
        # Sanskrit-style final clusters end in r, y or v and keep the vowel (नरेंद्र, मित्र, सत्य);
        # English names end in others that drop it (डोनाल्ड "donald", रिचर्ड "richard").
        sanskrit_cluster = units[last - 1][1] == "c" and units[last][0] in ("r", "y", "v")
        after_i_ya = units[last][0] == "y" and units[last - 1][0] == "i"
        if not (sanskrit_cluster or after_i_ya):
            schwa[last] = False
    for i in range(last - 1, 0, -1):
        if not schwa[i]:
            continue
        before_vowel = units[i - 1][1] in ("V", "N") or schwa[i - 1]
        followed_by_syllable = units[i + 1][1] in ("C", "c") and (
            schwa[i + 1] or (i + 2 <= last and units[i + 2][1] == "V")
        )
        if before_vowel and followed_by_syllable:
            schwa[i] = False
    # व is "w" right after स, श, द, ध, ट, ज without a vowel (स्वामी "swami", द्विवेदी "dwivedi",
    # ट्विटर "twitter"; but दिग्विजय "digvijay") and in the surname ending -वाल (अग्रवाल "agrawal",
    # केजरीवाल "kejriwal"), as English spellings write it.
    for i, (latin, kind) in enumerate(units):
        conjunct = i > 0 and units[i - 1][1] == "c" and not schwa[i - 1] and units[i - 1][0] in _BEFORE_W
        wal_ending = i == last - 2 and units[i + 1][0] == "a" and units[last][0] == "l"
        if latin == "v" and kind in ("C", "c") and (conjunct or wal_ending):
            units[i][0] = "w"
    out = []
    for i, (latin, kind) in enumerate(units):
        if kind == "N":
            following = units[i + 1][0] if i + 1 < len(units) else ""
            out.append("m" if following.startswith(_LABIALS) else "n")
            continue
        out.append(latin)
        if schwa[i]:
            out.append("a")
    return "".join(out)


def initialism(word: str) -> str | None:
    """The capitals of a word spelled in English letter names (आईएमएफ → "IMF"), if it is one word
    of two or more letter names and nothing else."""
    key, letters, i = match_key(word), [], 0
    while i < len(key):
        for length in range(min(_LONGEST_LETTER_NAME, len(key) - i), 0, -1):
            letter = _LETTER_NAMES.get(key[i : i + length])
            # A letter name ends a syllable: ए of एफ or एल is not the letter A when a consonant follows.
            if letter is not None and not (i + length < len(key) and key[i + length] in "्ािीुूेैोौंः"):
                letters.append(letter)
                i += length
                break
        else:
            return None
    return "".join(letters) if len(letters) >= 2 else None


def abbreviation(word: str) -> str:
    """An organisation's abbreviation in capitals: initialisms by their letters (सीआईआई → "CII"),
    acronyms read as words by their sound (इसरो → "ISRO"), Latin ones as written."""
    if not is_devanagari(word):
        return word.upper()
    return initialism(word) or romanize_devanagari(word).upper()


def sound_key(latin: str) -> str:
    """A loose spelling that English and romanised Hindi share: silent and aspirate h dropped,
    y as i, w as v, z as j, c/q as k (s before e/i), ph as f, doubled letters once."""
    text = anyascii(latin).lower()
    text = text.replace("ph", "f").replace("ck", "k").replace("x", "ks")
    chars = []
    for i, char in enumerate(text):
        if not char.isalpha():
            continue
        if char == "c":
            char = "s" if text[i + 1 : i + 2] in ("e", "i", "y") else "k"
        char = {"h": "", "y": "i", "w": "v", "z": "j", "q": "k"}.get(char, char)
        if char and (not chars or chars[-1] != char):
            chars.append(char)
    return "".join(chars)


def skeleton(key: str) -> str:
    """Consonants of a sound key with each vowel run as '*' and a final vowel dropped: the index."""
    out = []
    for char in key:
        symbol = "*" if char in "aeiou" else char
        if not out or out[-1] != symbol or symbol != "*":
            out.append(symbol)
    if out and out[-1] == "*":
        out.pop()
    return "".join(out)


def _ending(key: str) -> str:
    """The final vowel of a sound key, or "" if it ends in a consonant."""
    return key[-1:] if key[-1:] in "aeiou" else ""


ENGLISH_WORDS_PATH = Path(__file__).parents[2] / "models" / "entities" / "english_words.tsv"
# Types whose names borrow English words (पंजाब नेशनल बैंक, पोर्ट ब्लेयर); people's names do not.
_ENGLISH_WORD_TYPES = ("ORG", "LOC")


@cache
def english_word_spellings(path: Path = ENGLISH_WORDS_PATH) -> dict[tuple[str, str], str]:
    """(type, match key of a Hindi spelling) → the English word an organisation's or place's name borrows
    (नेशनल → "National"), from `english_words.tsv`: English spells these words by meaning, not by sound
    ("Neshnal")."""
    spellings = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, hindi = line.split("\t")
            for spelling in hindi.split("|"):
                for entity_type in _ENGLISH_WORD_TYPES:
                    spellings[entity_type, match_key(spelling.strip())] = english
    return spellings


def learnt_spellings(aligned: dict[str, str], table: dict[tuple[str, str], str]) -> dict[tuple[str | None, str], str]:
    """The spellings of a NameLexicon, in one table: a name table's spelling for the type wins over a borrowed
    English word of that type; both are looked up before the spelling aligned in parallel text ((None, key))."""
    return {**{(None, word): spelling for word, spelling in aligned.items()}, **english_word_spellings(), **table}


class NameLexicon:
    """Latin-script name words with how often each was a PER, ORG and LOC word, looked up by sound,
    and the English spellings of Hindi name words: learnt from the name tables, per type
    ((type, match key) → word), the English words of organisations' and places' names
    (english_words.tsv), and from parallel text, for any type ((None, match key) → word); see
    learnt_spellings."""

    TYPES = ("PER", "ORG", "LOC")

    def __init__(self, type_counts: dict[str, list[int]], spellings: dict[tuple[str | None, str], str] | None = None):
        self.spellings = spellings or {}
        self._by_skeleton: dict[str, list[tuple[str, str, int]]] = {}
        self._types = {}
        # Bounded: a long-running worker meets an endless stream of new words.
        self.sounds_like = lru_cache(maxsize=1 << 16)(self._sounds_like)
        for name, counts in type_counts.items():
            key = sound_key(name)
            self._by_skeleton.setdefault(skeleton(key), []).append((name, key, sum(counts)))
            self._types[name] = self.TYPES[max(range(len(counts)), key=counts.__getitem__)]

    def closest(
        self,
        romanized: str,
        entity_type: str | None = None,
        min_similarity: float = 0.75,
        max_length_change: int | None = None,
        same_ending: bool = False,
    ) -> str | None:
        """The commonest name spelled most alike with the same consonants (and usual type, if given;
        at most max_length_change letters longer or shorter, if given; with same_ending, ending in
        the same vowel or both in a consonant)."""
        key = sound_key(romanized)
        best, best_score = None, 0.0
        for name, name_key, count in self._by_skeleton.get(skeleton(key), ()):
            if entity_type is not None and self._types[name] != entity_type:
                continue
            if max_length_change is not None and abs(len(name_key) - len(key)) > max_length_change:
                continue
            if same_ending and _ending(name_key) != _ending(key):
                continue
            similarity = difflib.SequenceMatcher(None, key, name_key).ratio()
            if similarity < min_similarity:
                continue
            score = similarity + 0.02 * math.log1p(count)  # a common spelling wins a near tie
            if score > best_score:
                best, best_score = name, score
        return best

    def _sounds_like(self, word: str) -> str | None:
        """The usual type of the Latin name a Devanagari word sounds like (किर्बी → Kirby → "PER");
        called as `sounds_like`, through a cache."""
        romanized = romanize_devanagari(word)
        # Words with fewer than three consonants sound like too many names.
        consonants = sum(char != "*" for char in skeleton(sound_key(romanized)))
        match = self.closest(romanized) if consonants >= 3 else None
        return self._types[match] if match else None


# How alike a Hindi word of a table alias and the English word in its place must sound to be taken
# as its spelling (बनर्जी ~ Banerjee, पंजाब ~ Punjab, but not संगठन ~ Organization, a translation).
_MIN_SPELLING_SIMILARITY = 0.6
# Table spellings of which types a word of each type may take: organisations are often named after
# places (पंजाब नेशनल बैंक), people are not (द्रविड़ is "Dravida" only in a party's name).
_SPELLING_TYPES = {"PER": ("PER",), "ORG": ("ORG", "LOC"), "LOC": ("LOC",)}


def table_word_spellings(names: Iterable[tuple[tuple[str, ...], str, str]]) -> dict[tuple[str, str], str]:
    """(type, Hindi word's match key) → English word, from table aliases (keys, type, canonical)
    that spell their English name word for word (ममता बनर्जी = Mamata Banerjee gives बनर्जी →
    Banerjee, for अभिषेक बनर्जी, whom no table has). Per type: द्रविड़ is "Dravida" in a party's name
    and "Dravid" in a person's. The spelling most aliases agree on wins (ties: alphabetical)."""
    votes: dict[tuple[str, str], Counter] = {}
    for key, entity_type, canonical in names:
        english = canonical.split()
        if len(english) != len(key) or not all(is_devanagari(word) for word in key):
            continue
        for word, spelling in zip(key, english, strict=True):
            similarity = difflib.SequenceMatcher(None, sound_key(romanize_devanagari(word)), sound_key(spelling)).ratio()
            if spelling.isalpha() and similarity >= _MIN_SPELLING_SIMILARITY:
                votes.setdefault((entity_type, word), Counter())[spelling] += 1
    return {word: min(counts, key=lambda s: (-counts[s], s)) for word, counts in votes.items()}


def latin_name(words: list[str], lexicon: NameLexicon | None, entity_type: str | None = None) -> str:
    """Title-cased Latin spelling of a multi-word name in any script; Devanagari words take a learnt
    English spelling, an organisation's initialism its capitals, a person's initial its letter and
    a dot (पी. वी. सिंधु → "P. V. Sindhu"), others snap to a lexicon name of the entity's type
    that sounds the same."""
    out = []
    for word in words:
        if word == "." and out:
            continue  # the dot of an initial, written with the initial below
        letter = _LETTER_NAMES.get(match_key(word)) if entity_type == "PER" else None
        if letter:
            out.append(letter + ".")
            continue
        if is_devanagari(word):
            key = match_key(word)
            types = (*_SPELLING_TYPES.get(entity_type or "", ()), None)
            learnt = next((lexicon.spellings[t, key] for t in types if (t, key) in lexicon.spellings), None) if lexicon else None
            letters = initialism(word) if entity_type == "ORG" else None
            if learnt or letters:
                out.append(learnt or letters)
                continue
            romanized = romanize_devanagari(word)
            match = None
            if lexicon:
                match = lexicon.closest(
                    romanized, entity_type, _MIN_SNAP_SIMILARITY, max_length_change=_MAX_SNAP_LENGTH_CHANGE, same_ending=True
                )
            out.append(match or romanized.capitalize())
        elif word.isascii():
            out.append(word)
        else:
            out.append(anyascii(word).capitalize())
    return " ".join(part for part in out if part)
