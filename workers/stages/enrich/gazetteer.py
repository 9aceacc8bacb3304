"""Known names: curated people/organisations/places and CLDR country and city names in many languages.

Entries map a sequence of token match keys to (type, canonical). "Generic" aliases (e.g. "National
Security Council") only resolve to their entry when a full alias of it occurs in the same text.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import orjson

from workers.stages.enrich.text import match_key, tokenize

MAX_NAME_TOKENS = 8


@dataclass(frozen=True)
class Name:
    type: str
    canonical: str
    generic: bool = False
    curated: bool = False  # from curated.tsv (its type is trusted over the CRF's), else from CLDR


@dataclass(frozen=True)
class Match:
    start: int  # token indices, end exclusive
    end: int
    name: Name


def name_key(alias: str) -> tuple[str, ...]:
    return tuple(match_key(token) for token, _, _ in tokenize(alias))


class Gazetteer:
    def __init__(self) -> None:
        self.names: dict[tuple[str, ...], Name] = {}
        # First key of every name → its longest name's length: most tokens start no name, and
        # those are skipped with one dict lookup instead of one per possible length.
        self._longest_from: dict[str, int] = {}

    def add(self, alias: str, name: Name, override: bool = False) -> None:
        key = name_key(alias)
        if key and len(key) <= MAX_NAME_TOKENS and (override or key not in self.names):
            self.names[key] = name
            self._longest_from[key[0]] = max(len(key), self._longest_from.get(key[0], 0))

    def lookup(self, tokens: list[str]) -> Name | None:
        return self.names.get(tuple(match_key(token) for token in tokens))

    def match(self, keys: list[str]) -> list[Match]:
        """Longest matches, left to right, over already-computed token match keys."""
        found, i = [], 0
        while i < len(keys):
            longest = self._longest_from.get(keys[i], 0)
            for length in range(min(longest, len(keys) - i), 0, -1):
                name = self.names.get(tuple(keys[i : i + length]))
                if name is not None:
                    found.append(Match(i, i + length, name))
                    i += length
                    break
            else:
                i += 1
        return found


def read_curated(path: Path) -> list[tuple[Name, list[str]]]:
    """(name, aliases) pairs from curated.tsv; generic aliases come as Names with generic=True."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        entity_type, canonical, aliases = columns[0], columns[1], columns[2]
        entries.append((Name(entity_type, canonical, curated=True), [a.strip() for a in aliases.split("|")]))
        if len(columns) > 3:
            generic = [a.strip() for a in columns[3].split("|")]
            entries.append((Name(entity_type, canonical, generic=True, curated=True), generic))
    return entries


def load_gazetteer(model_dir: Path) -> Gazetteer:
    """Curated names first (they win), then the CLDR names the trainer extracted from babel."""
    gazetteer = Gazetteer()
    for name, aliases in read_curated(model_dir / "curated.tsv"):
        for alias in aliases:
            gazetteer.add(alias, name, override=not name.generic)
    cldr_names = orjson.loads(gzip.decompress((model_dir / "cldr_names.json.gz").read_bytes()))
    for entity_type, canonical, aliases in cldr_names:
        for alias in aliases:
            gazetteer.add(alias, Name(entity_type, canonical))
    return gazetteer
