"""Near-duplicate detection: MinHash signatures over word shingles of the clean body, with LSH banding.

Pure and deterministic across processes, machines and Python versions: tokens are hashed with
`hashlib.blake2b`, shingles and the MinHash permutations with fixed constants in wrapping uint64 arithmetic
(the permutation constants are blake2b digests of fixed strings); never `hash()` or a random generator.

- `signature(text, lang)` -> `Signature(minhash, bands)`; `bands` are the LSH keys the runtime looks up.
- `similarity(a, b)` -> estimated Jaccard similarity of the two shingle sets.
- Pairs with `similarity >= DUPLICATE_THRESHOLD` are duplicates.

Tokenisation is decided per script: words (`regex` `\\w`, which keeps Devanagari vowel signs and viramas
inside the word, unlike `re`) for scripts written with spaces, single characters for scripts written
without them (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan). The text is NFC-normalised and lower-cased.
`lang` does not change the signature: the detector can label two copies of one story differently (mixed
pages, short leftovers of boilerplate), and a signature that depended on it would then miss the copy.

Texts with fewer than MIN_SHINGLES shingles get an empty `bands` tuple (they are never candidates) and
`similarity` 0.0 with anything: there is too little text to tell a copy from a stock phrase.
Parameters and their measurements: docs/dedup.md.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import numpy as np
import regex

SHINGLE_SIZE = 3
NUM_HASHES = 256
# The bands use the first NUM_BANDS * ROWS_PER_BAND values; all NUM_HASHES estimate the similarity.
# P(candidate | Jaccard s) = 1 - (1 - s**ROWS_PER_BAND) ** NUM_BANDS: 0.9993 at the threshold, 0.27 at 0.1.
NUM_BANDS = 32
ROWS_PER_BAND = 2
DUPLICATE_THRESHOLD = 0.45
MIN_SHINGLES = 8
MODEL_VERSION = f"minhash-{SHINGLE_SIZE}x{NUM_HASHES}x{NUM_BANDS}-v1"

# Scripts written without spaces between words: each character is a token.
_CHARACTER_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
_TOKEN = regex.compile(rf"[{_CHARACTER_SCRIPTS}]|[^\W{_CHARACTER_SCRIPTS}]+")

# Multiply-shift hashing ((a * x + b) mod 2**64) >> 32 of 32-bit shingle hashes with odd 64-bit a and 64-bit b:
# a universal family, and wrapping uint64 arithmetic in numpy is exact and the same on every platform.
_SHIFT = np.uint64(32)
_EMPTY_MINHASH = ((1 << 32) - 1,) * NUM_HASHES
# Multipliers that combine the SHINGLE_SIZE token hashes of a shingle, and the finaliser of splitmix64.
_POSITION_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)  # one per shingle position
_MIX_MULTIPLIER = np.uint64(0xBF58476D1CE4E5B9)


def _constant(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "little")


_A = np.array([_constant(f"newswire-dedup-a-{i}") | 1 for i in range(NUM_HASHES)], dtype=np.uint64)
_B = np.array([_constant(f"newswire-dedup-b-{i}") for i in range(NUM_HASHES)], dtype=np.uint64)


@dataclass(frozen=True)
class Signature:
    minhash: tuple[int, ...]  # NUM_HASHES values, each < 2**32
    bands: tuple[str, ...]  # NUM_BANDS LSH keys ("<band index><digest>" in hex), or () for too-short text


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def shingle_hashes(text: str) -> np.ndarray:
    """The distinct 32-bit hashes of the text's shingles (runs of SHINGLE_SIZE tokens)."""
    words = tokens(text)
    count = len(words) - SHINGLE_SIZE + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    vocabulary: dict[str, int] = {}
    ids = np.array([vocabulary.setdefault(word, len(vocabulary)) for word in words], dtype=np.intp)
    word_hashes = np.array(
        [int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little") for word in vocabulary],
        dtype=np.uint64,
    )[ids]
    combined = np.zeros(count, dtype=np.uint64)
    for position in range(SHINGLE_SIZE):
        combined += word_hashes[position : position + count] * np.uint64(_POSITION_MULTIPLIERS[position])
    combined ^= combined >> np.uint64(31)
    combined *= _MIX_MULTIPLIER
    combined ^= combined >> np.uint64(29)
    return np.unique(combined >> _SHIFT)


def _band_key(band: int, values: tuple[int, ...]) -> str:
    packed = b"".join(value.to_bytes(4, "little") for value in values)
    return f"{band:02x}" + hashlib.blake2b(packed, digest_size=6).hexdigest()


def signature(text: str, lang: str) -> Signature:
    """MinHash signature of the body; `lang` is accepted for the runtime's call but unused (module docstring)."""
    hashes = shingle_hashes(text)
    if len(hashes) < MIN_SHINGLES:
        return Signature(minhash=_EMPTY_MINHASH, bands=())
    permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) >> _SHIFT
    minhash = tuple(int(value) for value in permuted.min(axis=0))
    bands = tuple(
        _band_key(band, minhash[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]) for band in range(NUM_BANDS)
    )
    return Signature(minhash=minhash, bands=bands)


def similarity(a: Signature, b: Signature) -> float:
    """Share of equal MinHash values: an unbiased estimate of the Jaccard similarity of the shingle sets."""
    if not a.bands or not b.bands:
        return 0.0
    return sum(x == y for x, y in zip(a.minhash, b.minhash, strict=True)) / NUM_HASHES


def is_duplicate(a: Signature, b: Signature) -> bool:
    return similarity(a, b) >= DUPLICATE_THRESHOLD


def signature_to_json(sig: Signature) -> dict:
    return {"version": MODEL_VERSION, "minhash": list(sig.minhash), "bands": list(sig.bands)}


def signature_from_json(data: dict) -> Signature:
    if data.get("version") != MODEL_VERSION:
        raise ValueError(f"signature version {data.get('version')!r} is not {MODEL_VERSION!r}")
    minhash = tuple(int(value) for value in data["minhash"])
    if len(minhash) != NUM_HASHES:
        raise ValueError(f"signature has {len(minhash)} MinHash values, expected {NUM_HASHES}")
    return Signature(minhash=minhash, bands=tuple(data["bands"]))
