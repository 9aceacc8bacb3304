"""Language stage: which language and script a cleaned body is written in.

CLD2 (pycld2, model compiled into the wheel) is the main detector: on the development data it was the most
accurate and the fastest of the candidates measured (see docs/cleaning.md). When CLD2 cannot decide
(very short or unusual text) py3langid, whose model also ships in its wheel, gives the answer.
The script is read from the characters themselves, not guessed from the language.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import pycld2

from workers.types import Language

UNDETERMINED = Language(code="und", script="Zyyy", confidence=0.0)

# CLD2 and py3langid still use some withdrawn or non-ISO-639-1 codes.
_CODE_ALIASES = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "zh-Hant": "zh", "nb": "no", "tl": "fil"}

# CLD2 rejects control characters, surrogates and non-characters ("invalid UTF-8").
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")

# A second language covering this share of the text makes the text "mixed".
MIXED_SHARE = 20

# (first code point, last code point, ISO 15924 script); letters outside these count as no script.
_SCRIPT_RANGES = (
    (0x0041, 0x024F, "Latn"), (0x1E00, 0x1EFF, "Latn"), (0x0370, 0x03FF, "Grek"), (0x1F00, 0x1FFF, "Grek"),
    (0x0400, 0x052F, "Cyrl"), (0x0530, 0x058F, "Armn"), (0x0590, 0x05FF, "Hebr"), (0x0600, 0x06FF, "Arab"),
    (0x0750, 0x077F, "Arab"), (0x08A0, 0x08FF, "Arab"), (0xFB50, 0xFDFF, "Arab"), (0xFE70, 0xFEFF, "Arab"),
    (0x0700, 0x074F, "Syrc"), (0x0780, 0x07BF, "Thaa"), (0x0900, 0x097F, "Deva"), (0xA8E0, 0xA8FF, "Deva"),
    (0x0980, 0x09FF, "Beng"), (0x0A00, 0x0A7F, "Guru"), (0x0A80, 0x0AFF, "Gujr"), (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"), (0x0C00, 0x0C7F, "Telu"), (0x0C80, 0x0CFF, "Knda"), (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"), (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Laoo"), (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"), (0x10A0, 0x10FF, "Geor"), (0x1100, 0x11FF, "Hang"), (0x1200, 0x139F, "Ethi"),
    (0x1780, 0x17FF, "Khmr"), (0x3040, 0x309F, "Hira"), (0x30A0, 0x30FF, "Kana"), (0x31F0, 0x31FF, "Kana"),
    (0x3130, 0x318F, "Hang"), (0xAC00, 0xD7AF, "Hang"), (0x3400, 0x4DBF, "Hani"), (0x4E00, 0x9FFF, "Hani"),
    (0xF900, 0xFAFF, "Hani"), (0xFF66, 0xFF9F, "Kana"),
)


@lru_cache(maxsize=4096)
def _script_of_char(char: str) -> str | None:
    point = ord(char)
    for first, last, script in _SCRIPT_RANGES:
        if first <= point <= last:
            return script
    return None


def dominant_script(text: str) -> str:
    """ISO 15924 code of the script most letters are in; Japanese and Korean mixes get Jpan and Kore."""
    counts = Counter(_script_of_char(char) for char in text if char.isalpha())
    counts.pop(None, None)
    if not counts:
        return "Zyyy"
    if counts["Hira"] + counts["Kana"] > 0 and counts["Hira"] + counts["Kana"] + counts["Hani"] >= sum(counts.values()) / 2:
        return "Jpan"
    if counts["Hang"] and counts["Hang"] + counts["Hani"] >= sum(counts.values()) / 2:
        return "Kore"
    return counts.most_common(1)[0][0]


def _han_script(cld2_code: str) -> str:
    return "Hant" if cld2_code == "zh-Hant" else "Hans"


@lru_cache(maxsize=1)
def _fallback_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    # Only languages with an ISO 639-1 code: the rarer ones it knows (pcm, bcl, ...) mostly catch noise.
    identifier.set_languages([code for code in identifier.labels if len(code) == 2])
    return identifier


def _normalise_code(code: str) -> str:
    return _CODE_ALIASES.get(code, code)


def detect_language(text: str) -> Language:
    """Language of `text`; `UNDETERMINED` (und/Zyyy) when there is nothing to judge."""
    text = _UNSAFE_CHARS.sub(" ", text or "")
    if not any(char.isalpha() for char in text):
        return UNDETERMINED
    script = dominant_script(text)
    try:
        reliable, _, ranked = pycld2.detect(text)
    except pycld2.error:
        reliable, ranked = False, ()
    languages = [(code, share) for _, code, share, _ in ranked if code != "un"]
    if reliable and languages:
        code, share = languages[0]
        mixed = len(languages) > 1 and languages[1][1] >= MIXED_SHARE
        if code.startswith("zh") and script == "Hani":
            script = _han_script(code)
        return Language(code=_normalise_code(code), script=script, confidence=round(share / 100, 3), mixed=mixed)
    # Lower-cased: Title Case headlines otherwise pull short English text towards rare languages.
    code, probability = _fallback_identifier().classify(text.lower())
    if code.startswith("zh") and script == "Hani":
        script = "Hans"
    return Language(code=_normalise_code(code), script=script, confidence=round(float(probability), 3))
