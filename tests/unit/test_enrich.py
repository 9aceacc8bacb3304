"""Enrich stage: tokenising, transliteration, gazetteer, canonical names and the shipped models."""

from __future__ import annotations

import json

import pytest

from workers.datasets import shared_data_dir
from workers.stages.enrich import MODEL_VERSION, extract_entities, tag_token_batches, tag_tokens
from workers.stages.enrich.canonical import canonical_names
from workers.stages.enrich.gazetteer import Gazetteer, Name
from workers.stages.enrich.features import sentence_features
from workers.stages.enrich.tagging import Span, add_bracketed_aliases, bio_spans, repeat_page_names
from workers.stages.enrich.text import match_key, tokenize
from workers.stages.enrich.translit import NameLexicon, latin_name, romanize_devanagari
from workers.training.word_clusters import tree_paths


def test_tokens_carry_their_offsets():
    text = "Putin's U.S. visit, O'Brien said: गोला-बारूद और रूस। (एपी)"
    tokens = tokenize(text)
    assert all(text[start:end] == token for token, start, end in tokens)
    assert [token for token, _, _ in tokens][:4] == ["Putin", "'s", "U.S.", "visit"]
    assert "गोला-बारूद" in [token for token, _, _ in tokens]
    assert "।" in [token for token, _, _ in tokens]


def test_match_key_ignores_case_nukta_and_nasal_spelling():
    assert match_key("ज़ेलेंस्की") == match_key("जेलेंस्की")
    assert match_key("कहाँ") == match_key("कहां")
    assert match_key("NATO") == match_key("Nato")


@pytest.mark.parametrize(
    ("word", "latin"),
    [("व्लादिमीर", "vladimir"), ("पुतिन", "putin"), ("नरेंद्र", "narendra"), ("राष्ट्रीय", "rashtriya"),
     ("संजय", "sanjay"), ("प्योंगयांग", "pyongyang"), ("शोइगु", "shoigu"), ("ज़ेलेंस्की", "zelenski")],
)
def test_romanize_devanagari_deletes_schwas_like_hindi(word, latin):
    assert romanize_devanagari(word) == latin


def test_transliteration_snaps_to_a_known_spelling_that_sounds_the_same():
    counts = {"John": 500, "Jon": 20, "Kirby": 12, "Sergei": 40, "Sergio": 60}
    lexicon = NameLexicon({name: [count, 0, 0] for name, count in counts.items()})  # all PER
    assert latin_name(["जॉन", "किर्बी"], lexicon) == "John Kirby"
    assert latin_name(["सर्गेई"], lexicon) == "Sergei"
    assert latin_name(["शोइगु"], lexicon) == "Shoigu"  # nothing close: its own spelling
    assert lexicon.sounds_like("किर्बी") == "PER"
    assert lexicon.sounds_like("शोइगु") is None


def test_gazetteer_prefers_the_longest_name():
    gazetteer = Gazetteer()
    gazetteer.add("Korea", Name("LOC", "Korea"))
    gazetteer.add("North Korea", Name("LOC", "North Korea"))
    keys = [match_key(t) for t in ["in", "North", "Korea", "and", "Korea"]]
    assert [(m.start, m.end, m.name.canonical) for m in gazetteer.match(keys)] == [
        (1, 3, "North Korea"),
        (4, 5, "Korea"),
    ]


def test_bio_spans_start_a_span_at_a_stray_inside_label():
    spans = bio_spans(["B-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-LOC"], dict(enumerate([1.0, 0.5, 1.0, 0.8, 0.6, 0.4])))
    assert [(s.start, s.end, s.type) for s in spans] == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "ORG"), (5, 6, "LOC")]
    assert spans[0].confidence == pytest.approx(0.75)


def test_bracketed_word_after_an_organisation_or_place_names_it_again():
    tokens = ["भारतीय", "उद्योग", "परिसंघ", "(", "सीआईआई", ")", "और", "सिंधु", "(", "2019", ")", "मोदी", "(", "गुजरात", ")"]
    spans = [Span(0, 3, "ORG", 0.8), Span(7, 8, "LOC", 0.9), Span(11, 12, "PER", 0.9)]
    found = [(s.start, s.end, s.type) for s in add_bracketed_aliases(tokens, spans)]
    # Numbers are not names, and brackets after a person hold something else (a place, a sport).
    assert found == [(0, 3, "ORG"), (4, 5, "ORG"), (7, 8, "LOC"), (11, 12, "PER")]


def _found(spans):
    return [[(s.start, s.end, s.type) for s in sentence] for sentence in spans]


def test_a_name_the_page_tags_elsewhere_is_tagged_where_it_recurs():
    sentences = [["Igor", "Shkvyrin", "scored", "for", "Uzbekistan", "."],
                 ["Uzbekistan", "beat", "China", "and", "Igor", "Shkvyrin", "played", "."],
                 ["uzbekistan", "China", "China"]]
    spans = [[Span(0, 2, "PER", 0.9), Span(4, 5, "LOC", 0.8)], [Span(2, 3, "LOC", 0.7)], []]
    completed = repeat_page_names(sentences, spans)
    # The longest name wins, a lower-case Latin word is no name, a recurrence in the same sentence counts too.
    assert _found(completed) == [[(0, 2, "PER"), (4, 5, "LOC")],
                                 [(0, 1, "LOC"), (2, 3, "LOC"), (4, 6, "PER")],
                                 [(1, 2, "LOC"), (2, 3, "LOC")]]
    assert completed[1][0].confidence == 0.8 and completed[1][2].confidence == 0.9
    assert completed[0] is spans[0]  # nothing to add: the sentence keeps its spans


def test_page_names_take_the_pages_commonest_type_and_never_change_a_span():
    sentences = [["Jordan", "won"], ["Jordan", "lost"], ["in", "Jordan"], ["Jordan", "again"], ["जॉर्डन", "में", "जॉर्डन"]]
    spans = [[Span(0, 1, "PER", 0.6)], [Span(0, 1, "LOC", 0.7)], [Span(1, 2, "LOC", 0.9)], [],
             [Span(0, 1, "LOC", 0.5)]]
    completed = repeat_page_names(sentences, spans)
    assert _found(completed) == [[(0, 1, "PER")], [(0, 1, "LOC")], [(1, 2, "LOC")], [(0, 1, "LOC")],
                                 [(0, 1, "LOC"), (2, 3, "LOC")]]  # Devanagari has no case to check
    assert repeat_page_names([["a", "b"]], [[]]) == [[]]


def test_the_enrich_stage_tags_a_recurrence_its_sentence_alone_misses():
    text = "Zorvath Kelmi founded Quorbex in Brindle. Prices at Quorbex rose. Kelmi thanked Brindle voters."
    assert tag_token_batches([["Kelmi", "thanked", "Brindle", "voters", "."]], "en", "crf") == [[(0, 1, "PER")]]
    on_page = {(e.text, e.start, e.type) for e in extract_entities(text, "en", "crf")}
    assert ("Brindle", text.rindex("Brindle"), "LOC") in on_page


def test_cluster_tree_paths_are_prefix_codes_from_the_root():
    # Leaves 0-3; node 4 joins 0 and 1, node 5 joins 4 and 2, the root 6 joins 5 and 3.
    assert tree_paths([[0, 1], [4, 2], [5, 3]], 4) == ["000", "001", "01", "1"]


def test_word_cluster_features_cover_the_word_and_its_neighbours():
    clusters = {"दिल्ली": "0110110011101", "में": "10"}
    features = sentence_features(["दिल्ली", "में"], Gazetteer(), clusters=clusters)
    assert {"c4=0110", "c8=01101100", "c12=011011001110", "c=0110110011101", "c+1=10"} <= set(features[0])
    assert "c-1=0110110011101" in features[1] and not any(f.startswith("c4=") for f in features[1])


def test_partial_person_names_take_the_full_name_in_the_same_text():
    words = ["किर्बी", "और", "जॉन", "किर्बी", "और", "किम", "जोंग", "और", "किम", "जोंग", "उन"]
    canonicals = canonical_names(words, [(0, 1, "PER"), (2, 4, "PER"), (5, 7, "PER"), (8, 11, "PER")])
    assert canonicals[0] == canonicals[1] == "John Kirby"
    assert canonicals[2] == canonicals[3] == "Kim Jong Un"


def test_generic_alias_needs_the_full_name_in_the_text():
    text = "अमेरिकी राष्ट्रीय सुरक्षा परिषद ने कहा। राष्ट्रीय सुरक्षा परिषद के प्रवक्ता ने कहा।"
    with_full = extract_entities(text, "hi")
    generic = [e for e in with_full if e.text == "राष्ट्रीय सुरक्षा परिषद"]
    assert generic and generic[0].canonical == "United States National Security Council"
    alone = extract_entities("राष्ट्रीय सुरक्षा परिषद की बैठक दिल्ली में हुई।", "hi")
    assert all(e.canonical != "United States National Security Council" for e in alone)


def test_extract_entities_english():
    text = (
        "Russian President Vladimir Putin met officials in Moscow on Tuesday, Reuters reported. "
        "Putin said the United Nations had failed."
    )
    entities = extract_entities(text, "en")
    assert all(text[e.start : e.end] == e.text for e in entities)
    found = {(e.text, e.type, e.canonical) for e in entities}
    assert ("Vladimir Putin", "PER", "Vladimir Putin") in found
    assert ("Putin", "PER", "Vladimir Putin") in found
    assert ("Moscow", "LOC", "Moscow") in found
    assert ("United Nations", "ORG", "United Nations") in found
    assert all(0.0 <= e.confidence <= 1.0 for e in entities)


def test_same_entity_gets_one_canonical_across_scripts():
    hindi = extract_entities("रूस के राष्ट्रपति व्लादिमीर पुतिन ने मॉस्को में कहा।", "hi")
    english = extract_entities("Russian President Vladimir Putin spoke in Moscow.", "en")
    assert {"Vladimir Putin", "Moscow"} <= {e.canonical for e in hindi}
    assert {"Vladimir Putin", "Moscow"} <= {e.canonical for e in english}


def test_tag_tokens_returns_token_spans():
    tokens = ["German", "Chancellor", "Olaf", "Scholz", "visited", "Paris", "."]
    spans = tag_tokens(tokens, "en")
    assert (2, 4, "PER") in spans and (5, 6, "LOC") in spans
    assert all(0 <= s < e <= len(tokens) and t in {"PER", "ORG", "LOC"} for s, e, t in spans)


def test_empty_text_has_no_entities():
    assert extract_entities("", "en") == []
    assert tag_tokens([], "hi") == []
    assert MODEL_VERSION


@pytest.mark.shared_data
def test_hindi_example_page_entities():
    example = shared_data_dir().parent / "examples" / "hindi_news_page.expected.json"
    if not example.exists():
        pytest.skip("shared examples not available")
    expected = json.loads(example.read_text(encoding="utf-8"))
    entities = extract_entities(expected["body"], expected["lang"], title=expected["title"])  # as enrich_doc reads it
    found = {(e.text, e.type, e.canonical) for e in entities}
    missing = [e for e in expected["entities"] if (e["text"], e["type"], e["canonical"]) not in found]
    assert missing == []
    assert all(expected["body"][e.start : e.end] == e.text for e in entities)
