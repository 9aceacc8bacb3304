"""Known names: curated people/organisations/places, CLDR country and city names in many languages,
and GeoNames cities of 100,000 people or more.

Entries map a sequence of token match keys to (type, canonical). "Generic" aliases (e.g. "National
Security Council") only resolve to their entry when a full alias of it occurs in the same text.

The tagger sees curated.tsv and the CLDR names (gazetteer features, completion: `match`), the
names its CRF was trained with. curated_names.tsv and the GeoNames cities only give canonical names
to mentions the tagger found (`lookup`): adding them to the tagger's features would change what the
CRF finds without retraining it, and many city names are also common words. `lookup` also finds
spelling variants: first the exact match key, then the phonetic key (text.phonetic_key) for a name
of the mention's type, then, for Devanagari, the one name of that type with an alias of the same
consonants one vowel sign away (गुटेरिस → गुटेरेस).
"""

from __future__ import annotations

import difflib
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from workers.stages.enrich.text import is_devanagari, match_key, phonetic_key, phonetic_name_key, tokenize
from workers.stages.enrich.translit import romanize_devanagari, sound_key
from workers.stages.enrich.translit import skeleton as sound_skeleton

MAX_NAME_TOKENS = 8
# The nearest-alias step: consonants a name needs (shorter ones sound like too many names) and how
# many vowel signs its phonetic key may differ in from the alias's (जिनेवा/जेनेवा: one).
MIN_FUZZY_CONSONANTS = 3
MAX_FUZZY_VOWEL_CHANGES = 1
# A place's romanised Hindi name and a known place's English name must sound this alike.
MIN_PLACE_SOUND_SIMILARITY = 0.85
# A romanised Hindi name that sounds exactly like a known place's English name is that place (करनाल "karnal"
# → Karnal, not the nearer Devanagari alias कर्नूल of Kurnool), before any looser match. Only the English
# name: GeoNames' other Latin aliases are too loose (फ्लोरिडा would be Floridablanca). Shorter sound keys are
# left to the looser steps, as too many names share them.
MIN_EXACT_PLACE_SOUND = 4


@dataclass(frozen=True)
class Name:
    type: str
    canonical: str
    generic: bool = False
    curated: bool = False  # hand-written (curated.tsv, curated_names.tsv), else from CLDR or GeoNames
    tags: bool = True  # the tagger uses it (features, completion; a curated type is trusted over the CRF's)


@dataclass(frozen=True)
class Match:
    start: int  # token indices, end exclusive
    end: int
    name: Name


def name_key(alias: str) -> tuple[str, ...]:
    return tuple(match_key(token) for token, _, _ in tokenize(alias))


def consonant_skeleton(phonetic: str) -> str:
    """The consonants (and word breaks) of a Devanagari phonetic key: the index of the nearest-alias step."""
    return "".join(char for char in phonetic if "\u0915" <= char <= "\u0939" or char == " ")


class Gazetteer:
    def __init__(self) -> None:
        self.names: dict[tuple[str, ...], Name] = {}  # what the tagger sees
        self.lookup_names: dict[tuple[str, ...], Name] = {}  # names for canonical names only (tags=False)
        # First key of every name → its longest name's length: most tokens start no name, and
        # those are skipped with one dict lookup instead of one per possible length.
        self._longest_from: dict[str, int] = {}
        # (type, phonetic key) → name; the first name added under a key keeps it (curated, then
        # CLDR, then GeoNames by population), so a variant never takes a lesser entry's name.
        self._by_sound: dict[tuple[str, str], Name] = {}
        self._by_skeleton: dict[tuple[str, str], list[tuple[str, Name]]] = {}
        # Phonetic key of a curated person's last name → that person, or None when two share it:
        # news names a person in full once, then by the surname (वेंस, चंद्रशेखरन).
        self._person_by_surname: dict[str, Name | None] = {}
        # English place names by the skeleton of their sound key (translit.sound_key): (key, name).
        self._places_by_sound: dict[str, list[tuple[str, Name]]] = {}

    def add(self, alias: str, name: Name, override: bool = False) -> None:
        tokens = [token for token, _, _ in tokenize(alias)]
        key = tuple(match_key(token) for token in tokens)
        if not key or len(key) > MAX_NAME_TOKENS:
            return
        table = self.names if name.tags else self.lookup_names
        if override or key not in table:
            table[key] = name
            if name.tags:
                self._longest_from[key[0]] = max(len(key), self._longest_from.get(key[0], 0))
        if name.generic:
            return  # generic aliases need the full name in the text: exact matches only
        if name.curated and name.type == "PER" and len(tokens) > 1:
            surname = phonetic_key(tokens[-1])
            if self._person_by_surname.get(surname, name) != name:
                self._person_by_surname[surname] = None
            else:
                self._person_by_surname[surname] = name
        if name.type == "LOC" and alias == name.canonical:
            key_sound = sound_key(alias)
            self._places_by_sound.setdefault(sound_skeleton(key_sound), []).append((key_sound, name))
        phonetic = phonetic_name_key(tokens)
        if (name.type, phonetic) not in self._by_sound or override:
            self._by_sound[name.type, phonetic] = name
        if is_devanagari(phonetic):
            skeleton = consonant_skeleton(phonetic)
            if len(skeleton.replace(" ", "")) >= MIN_FUZZY_CONSONANTS:
                self._by_skeleton.setdefault((name.type, skeleton), []).append((phonetic, name))

    def lookup(self, tokens: list[str], entity_type: str | None = None) -> Name | None:
        """The name these tokens spell: exactly a curated name, then any name the tagger sees; with
        the mention's type, also a GeoNames city (for places), a phonetic variant or the nearest
        Devanagari alias of that type."""
        key = tuple(match_key(token) for token in tokens)
        extra = self.lookup_names.get(key)
        if extra is not None and extra.curated:
            return extra
        name = self.names.get(key)
        if name is not None or entity_type is None:
            return name
        if extra is not None and entity_type == extra.type:
            return extra
        phonetic = phonetic_name_key(tokens)
        name = self._by_sound.get((entity_type, phonetic))
        if name is None and entity_type == "PER" and len(tokens) == 1:
            name = self._person_by_surname.get(phonetic)
        if name is not None or not is_devanagari(phonetic):
            return name
        if entity_type == "LOC":
            place = self._place_sounding_exactly(" ".join(romanize_devanagari(token) for token in tokens))
            if place is not None:
                return place
        return self._nearest(phonetic, entity_type)

    def place_sounding_like(self, romanized: str) -> Name | None:
        """The known place whose English name sounds like this romanised one (ग्वालियर "gvaliyar" →
        Gwalior): the same consonants, ≥ MIN_PLACE_SOUND_SIMILARITY alike, the first added (curated,
        CLDR, then GeoNames by population) among the most alike."""
        key = sound_key(romanized)
        best, best_similarity = None, MIN_PLACE_SOUND_SIMILARITY
        for place_key, name in self._places_by_sound.get(sound_skeleton(key), ()):
            similarity = difflib.SequenceMatcher(None, key, place_key).ratio()
            if similarity > best_similarity:
                best, best_similarity = name, similarity
        return best

    def _place_sounding_exactly(self, romanized: str) -> Name | None:
        """The first known place whose English name has this romanised name's sound key."""
        key = sound_key(romanized)
        if len(key) < MIN_EXACT_PLACE_SOUND:
            return None
        places = self._places_by_sound.get(sound_skeleton(key), ())
        return next((name for place_key, name in places if place_key == key), None)

    def _nearest(self, phonetic: str, entity_type: str) -> Name | None:
        """The one name of this type with an alias of the same consonants at most
        MAX_FUZZY_VOWEL_CHANGES vowel signs away; None if there are several."""
        names = {
            name.canonical: name
            for alias, name in self._by_skeleton.get((entity_type, consonant_skeleton(phonetic)), ())
            if _vowel_changes(phonetic, alias) <= MAX_FUZZY_VOWEL_CHANGES
        }
        return next(iter(names.values())) if len(names) == 1 else None


    def canonical_names(self) -> Iterator[tuple[tuple[str, ...], str, str]]:
        """(match keys of an alias, type, canonical name) of every entry that is not generic."""
        for table in (self.names, self.lookup_names):
            for key, name in table.items():
                if not name.generic:
                    yield key, name.type, name.canonical

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


def _vowel_changes(key: str, other: str) -> int:
    """Characters changed between two keys with the same consonants (so: vowel signs and nasals)."""
    opcodes = difflib.SequenceMatcher(None, key, other, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in opcodes if op != "equal")


def read_curated(path: Path, tags: bool = True) -> list[tuple[Name, list[str]]]:
    """(name, aliases) pairs from a curated table; generic aliases come as Names with generic=True."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        entity_type, canonical, aliases = columns[0], columns[1], columns[2]
        entries.append((Name(entity_type, canonical, curated=True, tags=tags), [a.strip() for a in aliases.split("|")]))
        if len(columns) > 3:
            generic = [a.strip() for a in columns[3].split("|")]
            entries.append((Name(entity_type, canonical, generic=True, curated=True, tags=tags), generic))
    return entries


def load_gazetteer(model_dir: Path) -> Gazetteer:
    """Curated names first (they win), then the CLDR names of `newswire train names`, then its
    GeoNames cities, most populous first; curated_names.tsv and the cities for lookup only."""
    gazetteer = Gazetteer()
    for tags, file_name in ((True, "curated.tsv"), (False, "curated_names.tsv")):
        for name, aliases in read_curated(model_dir / file_name, tags=tags):
            for alias in aliases:
                gazetteer.add(alias, name, override=not name.generic)
    cldr_names = orjson.loads(gzip.decompress((model_dir / "cldr_names.json.gz").read_bytes()))
    for entity_type, canonical, aliases in cldr_names:
        for alias in aliases:
            gazetteer.add(alias, Name(entity_type, canonical))
    cities = orjson.loads(gzip.decompress((model_dir / "geonames_cities.json.gz").read_bytes()))
    for canonical, _country, _population, aliases in cities:
        name = Name("LOC", canonical, tags=False)
        for alias in aliases:
            gazetteer.add(alias, name)
    return gazetteer
