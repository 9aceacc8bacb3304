"""Canonical names: phonetic keys, table lookups, the story, transliteration, and the same names
from Hindi and English tellings of one story."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from workers.evaluation import canonical as canonical_eval
from workers.stages.enrich import extract_entities
from workers.stages.enrich.canonical import canonical_names, resolve_names, story_counterparts
from workers.stages.enrich.gazetteer import Gazetteer, Name, read_curated
from workers.stages.enrich.model import MODEL_DIR, resources
from workers.stages.enrich.text import is_devanagari, phonetic_key, phonetic_name_key, tokenize
from workers.stages.enrich.translit import NameLexicon, abbreviation, initialism, latin_name, learnt_spellings, sound_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The eval set, a second one written and measured once after the rules were fixed, a blind one written
# before the issue-13 changes and scored before and after them only, and a second blind one written and
# scored on 2026-12-04 before the exact place-sound step.
EVAL_SETS = [FIXTURES / f"canonical_hi{suffix}.jsonl" for suffix in ("", "_fresh", "_blind", "_composed", "_blind2")]


@pytest.mark.parametrize(
    ("spelling", "variant"),
    [
        ("सुंदर", "सुन्दर"),  # anusvara / nasal consonant
        ("वेंस", "वेन्स"),  # before a sibilant too
        ("गूगल", "गुगल"),  # vowel length
        ("मॉस्को", "मास्को"),  # ऑ / आ
        ("वॉशिंगटन", "बाशिंगटन"),  # व / ब
        ("एंटोनियो", "एंतोनियो"),  # ट / त
        ("ज़ेलेंस्की", "जेलेन्स्की"),  # nukta and nasal
        ("स्टार्मर", "स्टारमर"),  # virama
        ("मोहम्मद", "मोहमद"),  # doubled consonant
        ("हिज़्बुल्लाह", "हिजबुल्ला"),  # final ह, nukta, virama
        ("ऋषि", "रिशि"),
        ("किम जोंग-उन", "किम जोंग उन"),  # hyphen
        ("Erdoğan", "Erdogan"),
    ],
)
def test_phonetic_key_folds_spelling_variants(spelling, variant):
    tokens = lambda text: [token for token, _, _ in tokenize(text)]  # noqa: E731
    assert phonetic_name_key(tokens(spelling)) == phonetic_name_key(tokens(variant))


def test_phonetic_key_keeps_what_is_not_a_variant():
    assert phonetic_key("नेतन्याहू") != phonetic_key("नेतंयाहू")  # न्य is "ny", not a nasal sign
    assert phonetic_key("पटना") != phonetic_key("पटन")
    assert phonetic_key("कमल") != phonetic_key("कलम")


def test_lookup_finds_variants_of_the_mention_type_only():
    gazetteer = Gazetteer()
    gazetteer.add("एंटोनियो गुटेरेस", Name("PER", "António Guterres", curated=True))
    gazetteer.add("जिनेवा", Name("LOC", "Geneva", tags=False))
    words = lambda text: text.split()  # noqa: E731
    assert gazetteer.lookup(words("एंतोनियो गुटेरिस"), "PER").canonical == "António Guterres"  # one vowel off
    assert gazetteer.lookup(words("एंतोनियो गुटेरिस"), "ORG") is None
    assert gazetteer.lookup(words("जेनेवा"), "LOC").canonical == "Geneva"
    assert gazetteer.lookup(words("जिनेवा"), "PER") is None  # a city only names places
    assert gazetteer.lookup(words("जनेवी"), "LOC") is None  # two vowel signs off
    assert gazetteer.match(["जिनेवा"]) == []  # the tagger does not see lookup-only names


def test_a_place_that_sounds_exactly_like_an_english_name_beats_a_nearer_devanagari_alias():
    gazetteer = Gazetteer()
    gazetteer.add("Kurnool", Name("LOC", "Kurnool", tags=False))
    for alias in ("कर्नूल", "कुरनूल"):
        gazetteer.add(alias, Name("LOC", "Kurnool", tags=False))
    gazetteer.add("Karnal", Name("LOC", "Karnal", tags=False))
    assert gazetteer.lookup(["करनाल"], "LOC").canonical == "Karnal"  # "karnal", one vowel sign from कर्नूल
    assert gazetteer.lookup(["करनूल"], "LOC").canonical == "Kurnool"
    assert gazetteer.place_sounding_like("karnal").canonical == "Karnal"


@pytest.mark.parametrize(("geonames", "printed"), [
    ("Rafaḩ", "Rafah"), ("Ramaḑan", "Ramadan"), ("Thāne", "Thane"),  # romanisation marks go
    ("Şişli", "Şişli"), ("Constanţa", "Constanţa"), ("São Paulo", "São Paulo"),  # letters of an alphabet stay
])
def test_city_names_drop_romanisation_marks_and_keep_letters(geonames, printed):
    from workers.training.names import _plain_name

    assert _plain_name(geonames) == printed


def test_common_names_are_recognised_not_transliterated():
    text = (
        "एलन मस्क ने जिनेवा में कहा। गूगल के सुंदर पिचाई और वित्त मंत्री निर्मला सीतारमण हैदराबाद में मिले।"
    )
    words = [token for token, _, _ in tokenize(text)]
    mentions = [("एलन मस्क", "PER"), ("जिनेवा", "LOC"), ("गूगल", "ORG"), ("सुंदर पिचाई", "PER"), ("निर्मला सीतारमण", "PER"), ("हैदराबाद", "LOC")]
    spans = []
    for mention, entity_type in mentions:
        first = words.index(mention.split()[0])
        spans.append((first, first + len(mention.split()), entity_type))
    assert canonical_names(words, spans) == [
        "Elon Musk", "Geneva", "Google", "Sundar Pichai", "Nirmala Sitharaman", "Hyderabad",
    ]


def test_an_abbreviation_and_its_expansion_are_one_organisation():
    page = (Path(__file__).resolve().parents[2] / "samples" / "pages" / "hi-tech-satellite-launch.txt").read_text()
    isro = {e.canonical for e in extract_entities(page, "hi") if "इसरो" in e.text or "अंतरिक्ष" in e.text}
    assert isro == {"ISRO"}
    # Unknown to every table: the abbreviation in capitals names both, and later mentions too.
    words = "भारतीय उद्योग परिसंघ ( सीआईआई ) ने कहा कि सीआईआई सहमत है".split()
    assert canonical_names(words, [(0, 3, "ORG"), (4, 5, "ORG"), (9, 10, "ORG")]) == ["CII", "CII", "CII"]
    assert canonical_names(words[:6], [(0, 6, "ORG")]) == ["CII"]  # one mention with the brackets


def test_a_devanagari_name_links_to_its_latin_spelling_in_the_text():
    words = [token for token, _, _ in tokenize("विपक्षी नेता केमी बेडेनॉक (Kemi Badenoch) ने कहा। बेडेनॉक ने आलोचना की।")]
    first, later = words.index("केमी"), len(words) - 5
    assert words[later] == "बेडेनॉक"
    assert canonical_names(words, [(first, first + 2, "PER"), (later, later + 1, "PER")]) == [
        "Kemi Badenoch",
        "Kemi Badenoch",
    ]


def test_spellings_of_one_unknown_entity_share_a_canonical():
    words = "मार्को सिल्वेस्त्री ने कहा । मार्को सिल्वेस्त्रि ने माना".split()
    first, second = canonical_names(words, [(0, 2, "PER"), (5, 7, "PER")])
    assert first == second


def test_initialisms_and_initials_are_spelled_by_their_letters():
    assert initialism("आईएमएफ") == "IMF"
    assert initialism("बीजेपी") == "BJP"
    assert initialism("एक") is None and initialism("एम") is None  # a word; one letter
    assert abbreviation("इसरो") == "ISRO" and abbreviation("सीआईआई") == "CII"
    lexicon = resources().lexicon
    assert latin_name("पी . वी . सिंधु".split(), lexicon, "PER") == "P. V. Sindhu"
    assert latin_name(["एनडीआरएफ"], lexicon, "ORG") == "NDRF"


def test_transliteration_takes_spellings_from_the_tables_and_keeps_its_own_when_nothing_is_close():
    lexicon = resources().lexicon
    assert latin_name("अभिषेक बनर्जी".split(), lexicon, "PER") == "Abhishek Banerjee"  # बनर्जी of ममता बनर्जी
    assert latin_name("शशि".split(), lexicon, "PER") == "Shashi"  # not snapped to "Sass"
    assert latin_name(["स्वामी"], lexicon, "PER") == "Swami"


def test_organisations_and_places_spell_borrowed_english_words_in_english():
    lexicon = NameLexicon({}, learnt_spellings({}, {}))  # no table spellings, no lexicon to snap to: english_words.tsv only
    assert latin_name("पंजाब नेशनल बैंक".split(), lexicon, "ORG") == "Panjab National Bank"
    assert latin_name("दिल्ली पुलिस".split(), lexicon, "ORG") == "Dilli Police"
    assert latin_name("बैंक ऑफ़ बड़ौदा".split(), lexicon, "ORG") == "Bank of Barauda"
    assert latin_name(["पोर्ट"], lexicon, "LOC") == "Port"
    assert latin_name(["पोर्ट"], lexicon, "PER") == "Port"  # a person's name is spelled by sound
    assert latin_name(["नेशनल"], lexicon, "PER") == "Neshnal"


def test_a_table_spelling_of_the_type_wins_over_the_borrowed_english_word():
    lexicon = NameLexicon({}, learnt_spellings({}, {("ORG", "पुलिस"): "Polis"}))
    assert latin_name(["पुलिस"], lexicon, "ORG") == "Polis"
    assert latin_name(["पुलिस"], lexicon, "LOC") == "Police"


INDIAN_STATES_AND_UNION_TERRITORIES = {
    "Andhra Pradesh", "Arunachal Pradesh", "Assam", "Bihar", "Chhattisgarh", "Goa", "Gujarat", "Haryana",
    "Himachal Pradesh", "Jharkhand", "Karnataka", "Kerala", "Madhya Pradesh", "Maharashtra", "Manipur",
    "Meghalaya", "Mizoram", "Nagaland", "Odisha", "Punjab", "Rajasthan", "Sikkim", "Tamil Nadu", "Telangana",
    "Tripura", "Uttar Pradesh", "Uttarakhand", "West Bengal", "Andaman and Nicobar Islands", "Chandigarh",
    "Dadra and Nagar Haveli and Daman and Diu", "Delhi", "Jammu and Kashmir", "Ladakh", "Lakshadweep",
    "Puducherry",
}


def test_every_indian_state_and_union_territory_has_a_curated_hindi_name():
    hindi_names = {
        name.canonical
        for f in ("curated.tsv", "curated_names.tsv")
        for name, aliases in read_curated(MODEL_DIR / f)
        if name.type == "LOC" and any(is_devanagari(alias) for alias in aliases)
    }
    assert INDIAN_STATES_AND_UNION_TERRITORIES - hindi_names == set()


def test_curated_names_are_one_entry_per_entity():
    entries = [(name.type, name.canonical) for name, _ in read_curated(MODEL_DIR / "curated_names.tsv") if not name.generic]
    assert sorted(e for e in set(entries) if entries.count(e) > 1) == []


# Hindi and English tellings of the same stories, written for this test. `both`: the entities that
# the tagger finds in both tellings (the Hindi tagger misses सुंदर पिचाई after "मुख्य कार्यकारी",
# नासा and श्रीहरिकोटा in the third story; English adjectives such as "Russian" are no entities).
STORIES = [
    (
        "टेस्ला के प्रमुख एलन मस्क ने बुधवार को बेंगलुरु में कहा कि कंपनी भारत में कारखाना लगाएगी। मस्क ने प्रधानमंत्री नरेंद्र मोदी से भी मुलाकात की।",
        "Tesla chief Elon Musk said in Bengaluru on Wednesday that the company will build a factory in India. Musk also met Prime Minister Narendra Modi.",
        {"Elon Musk", "Bengaluru", "India", "Narendra Modi"},
    ),
    (
        "गूगल के मुख्य कार्यकारी सुंदर पिचाई ने हैदराबाद में नए एआई केंद्र का उद्घाटन किया। माइक्रोसॉफ्ट के सत्या नडेला भी कार्यक्रम में मौजूद थे।",
        "Google chief executive Sundar Pichai opened a new AI centre in Hyderabad. Microsoft's Satya Nadella also attended the event.",
        {"Google", "Hyderabad", "Microsoft", "Satya Nadella"},
    ),
    (
        "भारतीय अंतरिक्ष अनुसंधान संगठन (इसरो) ने श्रीहरिकोटा से नया उपग्रह छोड़ा। इसरो ने कहा कि नासा के साथ अगला मिशन अगले साल होगा।",
        "The Indian Space Research Organisation (ISRO) launched a new satellite from Sriharikota. ISRO said its next mission with NASA will fly next year.",
        {"ISRO"},
    ),
    (
        "संयुक्त राष्ट्र महासचिव एंटोनियो गुटेरेस ने जिनेवा में जलवायु वार्ता शुरू की। विश्व स्वास्थ्य संगठन ने भी गर्मी से होने वाली मौतों पर रिपोर्ट जारी की।",
        "United Nations Secretary-General Antonio Guterres opened climate talks in Geneva. The World Health Organization also published a report on heat deaths.",
        {"United Nations", "António Guterres", "Geneva", "World Health Organization"},
    ),
    (
        "वित्त मंत्री निर्मला सीतारमण ने मुंबई में भारतीय रिज़र्व बैंक के गवर्नर संजय मल्होत्रा से मुलाकात की। सेबी ने भी नए नियमों की घोषणा की।",
        "Finance Minister Nirmala Sitharaman met Reserve Bank of India governor Sanjay Malhotra in Mumbai. SEBI also announced new rules.",
        {"Nirmala Sitharaman", "Mumbai", "Reserve Bank of India", "Sanjay Malhotra"},
    ),
    (
        "रूस के राष्ट्रपति व्लादिमीर पुतिन ने मॉस्को में चीन के राष्ट्रपति शी जिनपिंग का स्वागत किया। यूक्रेन ने इस बैठक की आलोचना की।",
        "Russian President Vladimir Putin welcomed Chinese President Xi Jinping in Moscow. Ukraine criticised the meeting.",
        {"Vladimir Putin", "Moscow", "Xi Jinping", "Ukraine"},
    ),
    (
        "उत्तर प्रदेश के मुख्यमंत्री योगी आदित्यनाथ ने लखनऊ में रिलायंस इंडस्ट्रीज़ के अध्यक्ष मुकेश अंबानी से निवेश पर बात की।",
        "Uttar Pradesh Chief Minister Yogi Adityanath discussed investment with Reliance Industries chairman Mukesh Ambani in Lucknow.",
        {"Yogi Adityanath", "Lucknow", "Reliance Industries", "Mukesh Ambani"},
    ),
]


@pytest.mark.parametrize(("hindi", "english", "both"), STORIES, ids=[f"story-{i}" for i in range(len(STORIES))])
def test_hindi_and_english_tellings_give_the_same_canonical_names(hindi, english, both):
    from_hindi = {e.canonical for e in extract_entities(hindi, "hi")}
    from_english = {e.canonical for e in extract_entities(english, "en")}
    assert both <= from_hindi and both <= from_english
    # What only one side names is an entity the other side's tagger missed, never a second
    # spelling of the same one.
    only_hindi = {sound_key(name) for name in from_hindi - from_english}
    only_english = {sound_key(name) for name in from_english - from_hindi}
    assert not only_hindi & only_english


@pytest.mark.parametrize("path", EVAL_SETS, ids=lambda path: path.name)
def test_canonical_eval_sets_are_split_by_whether_the_tables_hold_the_entity(path):
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    curated = {n.canonical for f in ("curated.tsv", "curated_names.tsv") for n, _ in read_curated(MODEL_DIR / f)}
    entities = {(row["type"], row["canonical"]): row["split"] for row in rows}
    wrong = sorted(name for (_, name), split in entities.items() if (split == "seen") != (name in curated))
    assert wrong == [], "a curated table now holds (or lost) these entities: relabel their rows' split"
    assert all(row["lang"] == "hi" for row in rows)
    if path == EVAL_SETS[0]:
        assert len(rows) >= 300
        # Written half seen, half unseen; the share of unseen entities falls as the tables grow
        # (0.45 after issue 13's table additions). Below 0.4 it says little about names no table holds.
        unseen = sum(split == "unseen" for split in entities.values())
        assert 0.4 <= unseen / len(entities) <= 0.55


def test_eval_canonical_reports_accuracy_per_type_and_split(tmp_path, capsys):
    data = tmp_path / "rows.jsonl"
    rows = [
        {"id": "1", "lang": "hi", "text": "गूगल के सुंदर पिचाई जिनेवा में।", "mention": "सुंदर पिचाई", "type": "PER", "canonical": "Sundar Pichai", "split": "seen"},
        {"id": "2", "lang": "hi", "text": "गूगल के सुंदर पिचाई जिनेवा में।", "mention": "जिनेवा", "type": "LOC", "canonical": "Geneva", "split": "unseen"},
        {"id": "3", "lang": "hi", "text": "ज़ाखारोवा ने कहा।", "mention": "ज़ाखारोवा", "type": "PER", "canonical": "Maria Zakharova", "split": "unseen"},
    ]
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    args = argparse.Namespace(data=str(data), json=True, limit=None, show_errors=False)
    assert canonical_eval.run(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 3 and result["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["per_type"]["PER"] == {"accuracy": 0.5, "n": 2}
    assert result["per_split"] == {"seen": {"accuracy": 1.0, "n": 1}, "unseen": {"accuracy": 0.5, "n": 2}}


def test_only_names_no_table_or_text_knew_are_marked_transliterated():
    text = "सर्बिया के मंत्री ज़ोरान म्लादेनोविच ने बेलग्रेड में कहा। म्लादेनोविच ने Reuters से बात की।"
    tokens = tokenize(text)
    words = [token for token, _, _ in tokens]
    first, later = words.index("ज़ोरान"), words.index("म्लादेनोविच", words.index("कहा"))
    names = resolve_names(words, [(0, 1, "LOC"), (first, first + 2, "PER"), (first + 3, first + 4, "LOC"),
                                  (later, later + 1, "PER"), (words.index("Reuters"), words.index("Reuters") + 1, "ORG")])
    assert [guess for _, guess in names] == [False, True, False, False, False]  # the surname took the full name
    assert names[1][0] == names[3][0] and names[0][0] == "Serbia" and names[4][0] == "Reuters"


def test_a_transliterated_name_takes_the_storys_latin_name_it_sounds_like():
    story_names = {"Zoran Mladenovic", "Belgrade", "Serbia", "Wanjiru Kamau"}
    found = story_counterparts([("ज़ोरान म्लादेनोविच", "PER"), ("म्लादेनोविच", "PER"), ("वांजिरू कामाउ", "PER"),
                                ("सुरेश प्रभु", "PER"), ("Zoran Mladenovich", "PER")], story_names)
    # A person's last name alone matches too; a name the story lacks, or one in Latin script, is left alone.
    assert found == ["Zoran Mladenovic", "Zoran Mladenovic", "Wanjiru Kamau", None, None]
    assert story_counterparts([("ज़ोरान म्लादेनोविच", "PER")], {"ज़ोरान"}) == [None]


@pytest.mark.parametrize(
    ("text", "mention", "entity_type", "canonical"),
    [
        ("बिहार विधानसभा चुनाव के पहले चरण का प्रचार थमा।", "बिहार विधानसभा", "ORG", "Bihar Legislative Assembly"),
        ("ओडिशा सरकार ने राहत पैकेज घोषित किया।", "ओडिशा सरकार", "ORG", "Government of Odisha"),
        ("केरल हाईकोर्ट ने जवाब मांगा।", "केरल हाईकोर्ट", "ORG", "Kerala High Court"),
        ("पूर्वी तुर्की में भूकंप आया।", "पूर्वी तुर्की", "LOC", "Turkey"),
        ("उत्तरी कोरिया ने मिसाइल दागी।", "उत्तरी कोरिया", "LOC", "North Korea"),  # the table names the whole first
    ],
)
def test_a_known_places_institution_and_a_compass_adjective_take_english_names(text, mention, entity_type, canonical):
    words = [token for token, _, _ in tokenize(text)]
    size = len([token for token, _, _ in tokenize(mention)])
    assert canonical_names(words, [(0, size, entity_type)]) == [canonical]


def test_an_unknown_place_with_an_institution_noun_is_only_transliterated():
    words = [token for token, _, _ in tokenize("मद्रास उच्च न्यायालय ने सुनवाई टाल दी।")]
    assert resolve_names(words, [(0, 3, "ORG")]) == [("Madras Uk Nyayalay", True)]  # Madras is no table's place
