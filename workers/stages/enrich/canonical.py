"""Canonical names, so one entity aggregates across languages, scripts and spellings.

In order, for each mention of a text:
1. a gazetteer name (curated table or CLDR) of exactly its tokens: its canonical English name;
   a generic alias ("राष्ट्रीय सुरक्षा परिषद") counts only if the text also names the entity in full;
2. a person named in part ("पुतिन", "Kirby") takes the canonical of a longer person mention in the
   same text that starts or ends with the same words ("व्लादिमीर पुतिन", "John Kirby");
3. otherwise its own words in Latin script: as written for Latin text, else transliterated
   (see translit.py), e.g. "शोइगु" → "Shoigu".
"""

from __future__ import annotations

from workers.stages.enrich.model import resources
from workers.stages.enrich.text import match_key
from workers.stages.enrich.translit import latin_name


def _own_name(words: list[str], entity_type: str) -> str:
    return latin_name(words, resources().lexicon, entity_type)


def canonical_names(mentions: list[tuple[list[str], str]], named_in_text: set[str]) -> list[str]:
    """Canonical name per mention (words, type); named_in_text holds the canonicals that some full
    (non-generic) gazetteer alias in the text refers to."""
    gazetteer = resources().gazetteer
    canonicals: list[str | None] = []
    for words, _ in mentions:
        name = gazetteer.lookup(words)
        if name is not None and (not name.generic or name.canonical in named_in_text):
            canonicals.append(name.canonical)
        else:
            canonicals.append(None)
    # Longer person mentions first, so "पुतिन" links to "व्लादिमीर पुतिन" and not the reverse.
    people = sorted(
        (i for i, (_, entity_type) in enumerate(mentions) if entity_type == "PER"),
        key=lambda i: -len(mentions[i][0]),
    )
    full_names: list[tuple[tuple[str, ...], str]] = []
    for i in people:
        keys = tuple(match_key(word) for word in mentions[i][0])
        if canonicals[i] is None:
            for longer, canonical in full_names:
                if len(longer) > len(keys) and (longer[: len(keys)] == keys or longer[-len(keys) :] == keys):
                    canonicals[i] = canonical
                    break
        if canonicals[i] is None:
            canonicals[i] = _own_name(*mentions[i])
        full_names.append((keys, canonicals[i]))
    return [
        canonical if canonical is not None else _own_name(words, entity_type)
        for canonical, (words, entity_type) in zip(canonicals, mentions, strict=True)
    ]
