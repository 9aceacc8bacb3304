"""The contextual evidence of the entity tagger: encoder heads, their features for the CRF, the tagger choice."""

import numpy as np
import pytest

from workers.stages.enrich import extract_entities, model_version, tag_token_batches
from workers.stages.enrich.context import LABELS, MIN_PROBABILITY, ContextHead, context_features, with_context
from workers.stages.enrich.model import checked_tagger
from workers.stages.enrich.tagging import contextual_evidence, needs_context, tag_sentences


def _head(heads: int = 2, dimensions: int = 5) -> ContextHead:
    rng = np.random.default_rng(0)
    return ContextHead(8, rng.normal(size=(heads, dimensions, len(LABELS))).astype(np.float32),
                       rng.normal(size=(heads, len(LABELS))).astype(np.float32))


def test_head_probabilities_are_the_mean_of_each_heads_softmax():
    head, states = _head(), np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    both = head.probabilities(states)
    assert np.allclose(both.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(both, (head.probabilities(states, [0]) + head.probabilities(states, [1])) / 2, atol=1e-6)
    assert not np.allclose(head.probabilities(states, [0]), head.probabilities(states, [1]))


def test_heads_round_trip_through_their_file(tmp_path):
    head, states = _head(), np.ones((2, 5), dtype=np.float32)
    head.save(tmp_path / "head.npz")
    loaded = ContextHead.load(tmp_path / "head.npz")
    assert loaded.layer == 8 and loaded.weights.shape == head.weights.shape
    assert np.allclose(loaded.probabilities(states), head.probabilities(states), atol=1e-2)  # float16 weights


def test_context_features_carry_likely_labels_and_the_best_one():
    probabilities = np.array([[0.9, 0.05, 0.0, 0.0, 0.0, 0.05, 0.0], [0.01, 0.01, 0.0, 0.0, 0.0, 0.98, 0.0]])
    first, second = context_features(probabilities)
    assert first == {"ctx=O": 0.9, "ctx=B-PER": pytest.approx(0.05), "ctx=B-LOC": pytest.approx(0.05), "ctx_best=O": 1.0}
    assert second == {"ctx=B-LOC": pytest.approx(0.98), "ctx_best=B-LOC": 1.0}  # below MIN_PROBABILITY: no feature
    assert 0.01 < MIN_PROBABILITY
    merged = with_context([["w=a", "b"], ["w=b", "b"]], probabilities)
    assert merged[1] == {"w=b": 1.0, "b": 1.0, "ctx=B-LOC": pytest.approx(0.98), "ctx_best=B-LOC": 1.0}
    with pytest.raises(ValueError):
        with_context([["w=a"]], probabilities)  # one row of evidence per word


def test_an_unknown_tagger_is_refused():
    assert checked_tagger("crf") == "crf"
    with pytest.raises(ValueError, match="entity_tagger"):
        checked_tagger("bert")


def test_both_taggers_tag_hindi_and_the_default_is_contextual():
    sentences = [["प्रधानमंत्री", "नरेंद्र", "मोदी", "ने", "जिनेवा", "में", "संयुक्त", "राष्ट्र", "को", "संबोधित", "किया", "।"], []]
    for tagger in ("context", "context-deva", "crf"):
        spans = tag_token_batches(sentences, "hi", tagger)
        assert (1, 3, "PER") in spans[0] and spans[1] == []
    assert model_version() == "entities-ctx-6"
    text = "प्रधानमंत्री नरेंद्र मोदी ने जिनेवा में संयुक्त राष्ट्र को संबोधित किया।"
    assert {e.canonical for e in extract_entities(text, "hi", "context")} >= {"Narendra Modi", "Geneva"}


def test_english_is_tagged_in_context_too_and_both_scripts_share_one_encoder_pass(monkeypatch):
    from workers.encoder import get_encoder

    encoder, calls = get_encoder(), []
    original = encoder.word_states

    def counting(sentences, layers):
        calls.append(len(sentences))
        return original(sentences, layers)

    monkeypatch.setattr(encoder, "word_states", counting)
    sentences = [["संयुक्त", "राष्ट्र", "की", "बैठक", "जिनेवा", "में", "हुई", "।"],
                 ["Elon", "Musk", "visited", "the", "Tesla", "plant", "in", "Berlin", "."]]
    spans = tag_token_batches(sentences, "hi", "context")
    assert calls == [2]
    assert (0, 2, "PER") in spans[1] and (7, 8, "LOC") in spans[1]
    assert (4, 5, "LOC") in spans[0]
    tag_token_batches(sentences, "hi", "context-deva")  # the Latin sentence keeps the plain CRF
    assert calls == [2, 1]
    tag_token_batches(sentences, "hi", "crf")
    assert calls == [2, 1]


NAMELESS = ["The", "weather", "was", "cold", "and", "wet", "for", "most", "of", "the", "week", "."]
NAMED = ["Elon", "Musk", "visited", "the", "Tesla", "plant", "in", "Berlin", "."]
HINDI_NAMELESS = ["बारिश", "के", "कारण", "कई", "सड़कों", "पर", "पानी", "भर", "गया", "।"]


def test_a_sentence_the_plain_crf_is_sure_names_nobody_skips_the_encoder():
    assert not needs_context(NAMELESS, "Latn", "en", 0.95)
    assert not needs_context(HINDI_NAMELESS, "Deva", "hi", 0.95)
    assert needs_context(NAMED, "Latn", "en", 0.95)
    assert needs_context(NAMELESS, "Latn", "en", 1.0)  # the gate off
    # Without case the plain Latin CRF is sure of nothing it could know: lower-case text always goes.
    assert needs_context([token.lower() for token in NAMED], "Latn", "en", 0.5)


def test_skipped_sentences_get_no_evidence_and_the_plain_crfs_tags(monkeypatch):
    from workers.encoder import get_encoder

    encoder, calls = get_encoder(), []
    original = encoder.word_states
    monkeypatch.setattr(encoder, "word_states", lambda sentences, layers: calls.append(len(sentences)) or original(sentences, layers))
    sentences = [NAMELESS, NAMED, HINDI_NAMELESS]
    evidence = contextual_evidence(sentences, ["en", "en", "hi"], "context", gate=0.95)
    assert calls == [1] and evidence[0] is None and evidence[2] is None and evidence[1].shape == (len(NAMED), len(LABELS))
    assert contextual_evidence(sentences, ["en", "en", "hi"], "context", gate=1.0)[0] is not None
    gated = tag_sentences(sentences, "en", "context", evidence)
    assert gated[0] == [] and gated[2] == [] and (0, 2, "PER") in [(s.start, s.end, s.type) for s in gated[1]]


@pytest.mark.parametrize("gate", [0.0, 1.5])
def test_a_context_gate_outside_0_to_1_is_refused(monkeypatch, gate):
    from workers.stages.enrich import model

    monkeypatch.setenv("NEWSWIRE_ENTITY_CONTEXT_GATE", str(gate))
    model.context_gate.cache_clear()
    try:
        with pytest.raises(ValueError, match="entity_context_gate"):
            model.context_gate()
    finally:
        model.context_gate.cache_clear()


def test_model_version_names_what_the_tagger_runs(monkeypatch):
    from workers.stages import enrich
    from workers.stages.enrich.model import TAGGERS

    assert set(enrich.MODEL_VERSIONS) == set(TAGGERS) and len(set(enrich.MODEL_VERSIONS.values())) == len(TAGGERS)
    monkeypatch.setattr(enrich, "entity_tagger", lambda: "context-deva")
    assert enrich.model_version() == "entities-ctx-deva-4"


class _SilentCrf:
    """A CRF that finds nothing: what the tagger adds after it is the gazetteer completion alone."""

    def tag(self, features):
        return ["O"] * len(features)


def test_gazetteer_completion_follows_the_devanagari_crf_but_not_the_contextual_latin_one(monkeypatch):
    from workers.stages.enrich import tagging
    from workers.stages.enrich.model import ContextModel

    monkeypatch.setattr(tagging, "context_model", lambda script: ContextModel(_head(dimensions=384), _SilentCrf()))
    latin, hindi = ["Talks", "in", "Russia", "ended", "."], ["रूस", "में", "बातचीत", "हुई", "।"]
    evidence = np.full((5, len(LABELS)), 1 / len(LABELS), dtype=np.float32)
    assert tagging._tag(latin, "Latn", "en", evidence) == []
    assert [(s.start, s.end, s.type) for s in tagging._tag(hindi, "Deva", "hi", evidence)] == [(0, 1, "LOC")]
    assert [(s.start, s.end, s.type) for s in tagging._tag(latin, "Latn", "en", None)] == [(2, 3, "LOC")]  # plain CRF path


def test_a_year_is_never_a_place_but_a_flag_may_be():
    """The contextual Devanagari CRF tags "2027" in "2027 में" (in 2027) as a place; no tagger keeps a span
    without letters (tagging._has_letters)."""
    from workers.stages.enrich.tagging import _has_letters

    text = ("ताइवान की एक चिप निर्माता कंपनी ने सोमवार को कहा कि वह गुजरात में सेमीकंडक्टर निर्माण संयंत्र लगाएगी, जहां "
            "स्मार्टफोन, कारों और डेटा सेंटरों के लिए प्रोसेसर बनाए जाएंगे। कंपनी ने कहा कि पहले चिप का उत्पादन 2027 में होगा।")
    for tagger in ("context", "crf"):
        entities = extract_entities(text, "hi", tagger)
        assert {e.canonical for e in entities} >= {"Taiwan", "Gujarat"}
        assert not any(e.text == "2027" for e in entities)
    assert not _has_letters(["2027"]) and not _has_letters(["१९९०", "-", "२०१५"]) and not _has_letters([","])
    assert _has_letters(["G20"]) and _has_letters(["जी20"]) and _has_letters(["🇵🇱"])


def test_the_title_is_read_as_a_sentence_of_the_page_but_only_the_body_has_mentions():
    """जिनेवा is tagged in the headline and missed in the body sentence alone; the page pass carries it over."""
    title = "जिनेवा में संयुक्त राष्ट्र की जलवायु वार्ता बिना समझौते के खत्म"
    body = ("लगभग 200 देशों के प्रतिनिधि शुक्रवार को बिना किसी समझौते के जिनेवा से लौट गए कि अमीर देश गरीब देशों में "
            "जलवायु से हुए नुकसान की भरपाई कैसे करेंगे।")
    assert "Geneva" not in {e.canonical for e in extract_entities(body, "hi")}
    entities = extract_entities(body, "hi", title=title)
    assert [(e.text, e.canonical) for e in entities if e.canonical == "Geneva"] == [("जिनेवा", "Geneva")]
    assert all(body[e.start : e.end] == e.text for e in entities)
