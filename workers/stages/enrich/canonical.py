"""Canonical names, so one entity aggregates across languages, scripts and spellings.

For the mentions of one text, in order:
1. **Tables**: a gazetteer name of the mention's words (gazetteer.lookup: exact, then phonetic
   variants, then the nearest Devanagari alias of its type): its canonical English name; a generic
   alias ("राष्ट्रीय सुरक्षा परिषद") counts only if the text also names the entity in full. A mention
   "name ( abbreviation )" is looked up whole, then by its name, then by its abbreviation.
   Where no table names the whole, a known place and an institution noun (बिहार विधानसभा → "Bihar Legislative
   Assembly", दिल्ली पुलिस → "Delhi Police") or a compass adjective and a known place (पूर्वी तुर्की → "Turkey").
2. **Abbreviations**: an organisation or place and the bracketed word after it (भारतीय अंतरिक्ष
   अनुसंधान संगठन ( इसरो )), in one mention or two, are one entity; when no table knows either, an
   organisation's canonical is the abbreviation in capitals ("ISRO"), the spelling English news
   prints, where a transliterated Hindi expansion is not the English name.
3. **The story**: every other mention of the same type with the same phonetic key as an entity
   resolved above takes its canonical (इसरो alone, later, is "ISRO" too); a person named in part
   ("पुतिन", "Kirby") takes the canonical of a longer person mention that starts or ends with the
   same words; a Devanagari mention that sounds like a Latin-script mention of the same type in the
   text ("एलन मस्क" and "Elon Musk") takes the Latin one's canonical.
4. **Transliteration**: Latin text keeps its own spelling; a Devanagari place that sounds like a
   known place's English name is that place (ग्वालियर → Gwalior); other Devanagari is romanised
   (translit.py, initialisms spelled out: सीआईआई → "CII"), other scripts go through anyascii. Mentions with the
   same phonetic key share the first one's result, so one entity is one name in the text.

Across pages: a Devanagari mention whose name is only a transliteration (`resolve_names` marks it) takes the name
of a Latin-script entity of the same story that it sounds like (story_counterparts; the indexer calls it with the
entities of the story's pages it compared the page with, workers/runtime/story_store.py).
"""

from __future__ import annotations

import difflib

from workers.stages.enrich.gazetteer import Gazetteer, Name
from workers.stages.enrich.model import resources
from workers.stages.enrich.text import is_devanagari, match_key, phonetic_name_key
from workers.stages.enrich.translit import abbreviation, latin_name, romanize_devanagari, sound_key

# Types whose names are followed by a bracketed abbreviation (after a person the brackets hold a
# year, a party or a place).
_ABBREVIATED_TYPES = {"ORG", "LOC"}
# How alike each word of a Devanagari mention must sound to the word of a Latin-script mention.
_MIN_WORD_SOUND_SIMILARITY = 0.7
# Hindi news names a place's institutions by the place and a common noun (बिहार विधानसभा, दिल्ली पुलिस, केरल हाईकोर्ट).
# No table can list every state's and city's; transliterated they read "Bihar Vidhanasbha", which no English paper
# prints. An organisation mention that is a known place followed by one of these nouns is named the English way.
_INSTITUTIONS = {
    ("विधानसभा",): "{} Legislative Assembly", ("विधान", "सभा"): "{} Legislative Assembly",
    ("विधान", "परिषद"): "{} Legislative Council", ("सरकार",): "Government of {}", ("पुलिस",): "{} Police",
    ("हाईकोर्ट",): "{} High Court", ("हाई", "कोर्ट"): "{} High Court", ("उच्च", "न्यायालय"): "{} High Court",
    ("नगर", "निगम"): "{} Municipal Corporation", ("विश्वविद्यालय",): "{} University", ("यूनिवर्सिटी",): "{} University",
    ("मेट्रो",): "{} Metro", ("हवाई", "अड्डा"): "{} Airport", ("हवाई", "अड्डे"): "{} Airport", ("एयरपोर्ट",): "{} Airport",
}
# A place mention led by a compass adjective (पूर्वी तुर्की, eastern Turkey; पश्चिमी नेपाल) is the place: an English
# telling writes "eastern Turkey", whose lower-case adjective is no part of the name.
_COMPASS_ADJECTIVES = {"पूर्वी", "पश्चिमी", "उत्तरी", "दक्षिणी", "मध्य", "पूर्वोत्तर"}


def _bracket_parts(words: list[str]) -> tuple[list[str], list[str] | None]:
    """(name, abbreviation) of "name ( abbreviation )", else (words, None)."""
    if len(words) >= 4 and words[-1] == ")" and "(" in words:
        opening = words.index("(")
        if 0 < opening < len(words) - 2:
            return words[:opening], words[opening + 1 : -1]
    return words, None


def _table_name(gazetteer: Gazetteer, words: list[str], entity_type: str, named_in_text: set[str]) -> Name | None:
    name = gazetteer.lookup(words, entity_type)
    if name is not None and (not name.generic or name.canonical in named_in_text):
        return name
    return None


def _composed_name(gazetteer: Gazetteer, words: list[str], entity_type: str) -> str | None:
    """The English name of a known place's institution (ORG) or of a known place after a compass adjective (LOC)."""
    def place(part: list[str]) -> str | None:
        name = gazetteer.lookup(part, "LOC") if part else None
        return name.canonical if name is not None and name.type == "LOC" else None

    if entity_type == "ORG":
        for noun, pattern in _INSTITUTIONS.items():
            if len(words) > len(noun) and tuple(words[-len(noun):]) == noun and (found := place(words[: -len(noun)])):
                return pattern.format(found)
    if entity_type == "LOC" and len(words) > 1 and words[0] in _COMPASS_ADJECTIVES:
        return place(words[1:])
    return None


def _sounds_like(devanagari: list[str], latin: list[str]) -> bool:
    """Whether each Devanagari word sounds like the Latin word in its place (एलन मस्क ~ Elon Musk)."""
    if len(devanagari) != len(latin):
        return False
    for word, other in zip(devanagari, latin, strict=True):
        key, other_key = sound_key(romanize_devanagari(word)), sound_key(other)
        if not key or difflib.SequenceMatcher(None, key, other_key).ratio() < _MIN_WORD_SOUND_SIMILARITY:
            return False
    return True


def _is_latin(word: str) -> bool:
    """Latin script, or no letters at all (digits, punctuation): nothing beyond Latin Extended-B."""
    return all(char <= "\u024f" for char in word)


def _latin_names(words: list[str]) -> list[list[str]]:
    """Runs of capitalised Latin-script words (a Hindi text's "एलन मस्क (Elon Musk)"), which the
    Devanagari tagger leaves untagged."""
    runs, run = [], []
    for word in [*words, ""]:
        if word[:1].isupper() and word.replace("-", "").isalpha() and _is_latin(word):
            run.append(word)
        elif run:
            runs.append(run)
            run = []
    return runs


def _latin_counterpart(
    words: list[str], entity_type: str, latin_mentions: list[tuple[list[str], str | None, str]]
) -> str | None:
    """The canonical of a Latin-script mention of this type (or an untagged Latin name, type None)
    that these Devanagari words sound like: all of it, or for a person its first or last words
    (मस्क ~ Elon Musk)."""
    for latin_words, latin_type, canonical in latin_mentions:
        if latin_type not in (entity_type, None):
            continue
        candidates = [latin_words]
        if entity_type == "PER" and len(latin_words) > len(words):
            candidates += [latin_words[: len(words)], latin_words[-len(words) :]]
        if any(_sounds_like(words, candidate) for candidate in candidates):
            return canonical
    return None


def canonical_names(words: list[str], mentions: list[tuple[int, int, str]]) -> list[str]:
    """Canonical name per mention (first token, last token + 1, type) over the tokens of one text."""
    return [name for name, _ in resolve_names(words, mentions)]


def resolve_names(words: list[str], mentions: list[tuple[int, int, str]]) -> list[tuple[str, bool]]:
    """(canonical name, whether it is only a transliteration of non-Latin words) per mention: no table, no
    abbreviation, no mention of the text and no known place gave it, so a story may know it better."""
    res = resources()
    gazetteer = res.gazetteer
    named_in_text = {
        match.name.canonical
        for match in gazetteer.match([match_key(word) for word in words])
        if not match.name.generic
    }
    spans = [(words[start:end], entity_type) for start, end, entity_type in mentions]
    canonicals: list[str | None] = [None] * len(spans)
    # The story's entities so far: (type, phonetic key) → canonical.
    story: dict[tuple[str, str], str] = {}

    # 1. Tables, whole mention then its parts.
    parts = [_bracket_parts(span_words) for span_words, _ in spans]
    for i, ((span_words, entity_type), (name_words, abbreviated)) in enumerate(zip(spans, parts, strict=True)):
        for candidate in (span_words, name_words, abbreviated):
            name = _table_name(gazetteer, candidate, entity_type, named_in_text) if candidate else None
            if name is not None:
                canonicals[i] = name.canonical
                break

    # 1b. A known place's institution, or a known place after a compass adjective, where no table names the whole.
    for i, (span_words, entity_type) in enumerate(spans):
        if canonicals[i] is None and any(is_devanagari(word) for word in span_words):
            canonicals[i] = _composed_name(gazetteer, span_words, entity_type)

    # 2. Abbreviations: "name ( abbreviation )" in one mention, or an organisation or place and a
    # mention in brackets right after it: (mention of the name, mention of the abbreviation or None,
    # name words, abbreviation words).
    pairs = [(i, None, name_words, abbreviated) for i, (name_words, abbreviated) in enumerate(parts) if abbreviated]
    by_start = {start: j for j, (start, _, _) in enumerate(mentions)}
    for i, (start, end, entity_type) in enumerate(mentions):
        j = by_start.get(end + 1)
        if (
            j is not None
            and entity_type in _ABBREVIATED_TYPES
            and mentions[j][1] == end + 2
            and words[end] == "("
            and words[end + 2 : end + 3] == [")"]
        ):
            pairs.append((i, j, spans[i][0], spans[j][0]))
    for i, j, name_words, abbreviated in pairs:
        entity_type = spans[i][1]
        canonical = canonicals[i] or (canonicals[j] if j is not None else None)
        if canonical is None and entity_type == "ORG" and len(abbreviated) == 1:
            canonical = abbreviation(abbreviated[0])
        if canonical is None:
            continue
        for index in (i, j):
            if index is not None:
                canonicals[index] = canonical
        for part in (name_words, abbreviated):
            story.setdefault((entity_type, phonetic_name_key(part)), canonical)

    # 3. The story: same phonetic key, partial person names, Latin-script counterparts.
    for i, (span_words, entity_type) in enumerate(spans):
        if canonicals[i] is None:
            canonicals[i] = story.get((entity_type, phonetic_name_key(span_words)))
    latin_mentions = [
        (span_words, entity_type, canonicals[i] or latin_name(span_words, res.lexicon, entity_type))
        for i, (span_words, entity_type) in enumerate(spans)
        if not any(is_devanagari(word) for word in span_words) and any(word.isalpha() for word in span_words)
    ]
    if any(is_devanagari(word) for word in words):
        for run in _latin_names(words):
            name = gazetteer.lookup(run)
            latin_mentions.append((run, None, name.canonical if name else " ".join(run)))
    # Longer person mentions first, so "पुतिन" links to "व्लादिमीर पुतिन" and not the reverse.
    order = sorted(range(len(spans)), key=lambda i: (spans[i][1] != "PER", -len(spans[i][0]), i))
    full_names: list[tuple[list[str], str]] = []  # person mentions resolved so far: phonetic keys, canonical
    guessed: set[tuple[str, str]] = set()  # story keys whose name is a transliteration of non-Latin words
    transliterated = [False] * len(spans)
    for i in order:
        span_words, entity_type = spans[i]
        keys = phonetic_name_key(span_words).split()
        if canonicals[i] is None and entity_type == "PER":
            for longer, canonical in full_names:
                if len(longer) > len(keys) and (longer[: len(keys)] == keys or longer[-len(keys) :] == keys):
                    canonicals[i] = canonical
                    break
        if canonicals[i] is None and any(is_devanagari(word) for word in span_words):
            canonicals[i] = _latin_counterpart(span_words, entity_type, latin_mentions)
        # 4. Transliteration, shared by every mention spelled the same way; a place that sounds
        # like a known place is that place (ग्वालियर "gvaliyar" → Gwalior).
        if canonicals[i] is None and entity_type == "LOC" and all(is_devanagari(word) for word in span_words):
            place = gazetteer.place_sounding_like(" ".join(romanize_devanagari(word) for word in span_words))
            canonicals[i] = place.canonical if place else None
        if canonicals[i] is None:
            key = (entity_type, phonetic_name_key(span_words))
            if key not in story:
                story[key] = latin_name(span_words, res.lexicon, entity_type)
                if not all(_is_latin(word) for word in span_words):
                    guessed.add(key)
            canonicals[i] = story[key]
            transliterated[i] = key in guessed
        if entity_type == "PER":
            full_names.append((keys, canonicals[i]))
    return [(canonical or "", guess) for canonical, guess in zip(canonicals, transliterated, strict=True)]


def story_counterparts(mentions: list[tuple[str, str]], story_names: set[str] | frozenset[str]) -> list[str | None]:
    """For each transliterated Devanagari mention (its text, its type), the name among the story's canonical
    names that it sounds like, as within one text (एलन मस्क ~ Elon Musk, मस्क ~ Elon Musk for a person); None
    where no Latin-script name of the story does. The story's names carry no type, so any type may match."""
    latin = [(name.split(), None, name) for name in sorted(story_names) if name and _is_latin(name)]
    if not latin:
        return [None] * len(mentions)
    return [_latin_counterpart(text.split(), entity_type, latin) if any(is_devanagari(w) for w in text.split()) else None
            for text, entity_type in mentions]
